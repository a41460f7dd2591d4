// Drives a node through the real hprose 2.0 JavaScript client (npm hprose 2.0.51 over ws) on /ws/.
// Usage: node hprose_ws.cjs ws://HOST:PORT/ws/ CID — prints one JSON object with the answers.
const hprose = require('hprose')
const [url, cid] = process.argv.slice(2)
const client = hprose.Client.create(url, [])
const call = (name, args) => client.invoke(name, args).then(v => v, e => ({ error: String(e.message || e) }))
;(async () => {
  const out = {}
  out.nodeid = await call('GetVar', ['', 'nodeid'])
  out.nodeid_any_case = await call('getvar', ['', 'NODEID'])
  out.stat = await call('IpfsStat', ['', cid])
  out.unknown_method = await call('NoSuchMethod', [1])
  out.write_refused = await call('PinRm', ['', cid])
  // Several calls in flight at once on the one connection.
  out.parallel = await Promise.all([1, 2, 3, 4, 5].map(() => call('GetVar', ['', 'nodeid'])))
  console.log(JSON.stringify(out))
  client.close()
  process.exit(0)
})().catch(e => { console.error(e); process.exit(1) })
