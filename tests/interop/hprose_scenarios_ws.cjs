// The original's scenarios (leither-facts §9) through the real hprose 2.0 JavaScript client over
// /ws/ (npm hprose 2.0.51). Usage: node hprose_scenarios_ws.cjs ws://HOST:PORT/ws/ OWNER.ppt
// Asserts every value; prints one line per scenario.
const hprose = require('hprose')
const fs = require('fs')
const assert = require('assert')
const [url, pptFile] = process.argv.slice(2)
const client = hprose.Client.create(url, [])
const call = (name, ...args) => client.invoke(name, args)
const refused = async (name, p, needle) => {
  try {
    await p()
  } catch (e) {
    assert.ok(String(e.message || e).includes(needle), `${name}: ${e.message || e}`)
    return
  }
  throw new Error(`${name}: not refused`)
}
const pairs = ps => ps.map(p => [p.member, p.score])
;(async () => {
  const login = await call('LoginWithPPT', fs.readFileSync(pptFile, 'utf8'))
  const sid = login.Sid
  assert.strictEqual(await call('GetVar', sid, 'userid'), login.Uid)
  console.log('ok key-auth-login')

  const mid = await call('MMCreate', sid, '', '', 'testMiMeiWs', 2, 0x07276705)
  assert.strictEqual(mid.length, 27)
  const mm = await call('MMOpen', sid, mid, 'cur')
  assert.strictEqual(await call('Set', mm, 'key0', 'value0'), 'OK')
  assert.strictEqual(await call('Get', mm, 'key0'), 'value0')
  await call('Set', mm, 'tbl', { name: 'js', Age: 3 })
  assert.deepStrictEqual(await call('Get', mm, 'tbl'), { name: 'js', Age: 3 })
  assert.strictEqual(await call('Hset', mm, 'h', 'f0', 'v0'), 1)
  await call('Hmset', mm, 'h', { Field: 'f1', Value: 'v1' }, { Field: 'f2', Value: 'v2' })
  assert.deepStrictEqual(await call('Hmget', mm, 'h', 'f0', 'f2', 'nope'), ['v0', 'v2', null])
  console.log('ok mimei.lua')

  await call('Hset', mm, 'ht', 'conf', { k: 'v', K2: 2 })
  assert.deepStrictEqual(await call('Hget', mm, 'ht', 'conf'), { k: 'v', K2: 2 })
  console.log('ok hset.lua')

  const members = [1, 2, 3, 4, 5].map(i => ({ Score: -i, Member: `m${i}` }))
  assert.strictEqual(await call('Zadd', mm, 'z', ...members), 5)
  assert.deepStrictEqual(pairs(await call('Zrange', mm, 'z', 2, -1)), [['m3', -3], ['m2', -2], ['m1', -1]])
  console.log('ok zset.lua')

  const gsid = (await call('Login')).Sid
  const gm = await call('MMOpen', gsid, mid, 'cur')
  assert.strictEqual(await call('Get', gm, 'key0'), 'value0')
  await refused('guest set', () => call('Set', gm, 'key0', 'evil'), 'read-only')
  // An empty session id is the original's guest for every method.
  assert.strictEqual((await call('GetVar', '', 'mminfo', mid)).Mark, 'testMiMeiWs')
  await refused('guest backup', () => call('MMBackup', '', mid, ''), 'needs its API token')
  console.log('ok guest.lua')

  for (let i = 0; i < 101; i++) {
    await call('Set', mm, `k${i}`, `value${i}`)
    await call('Hset', mm, 'hb', `field${i}`, `value${i}`)
  }
  assert.strictEqual(await call('MMBackup', sid, mid, 'memo'), 1)
  const last = await call('MMOpen', sid, mid, 'last')
  assert.deepStrictEqual(await call('Hmget', last, 'hb', 'field99'), ['value99'])
  assert.strictEqual(await call('MMCreate', sid, '', '', 'testMiMeiWs', 2, 0x07276705), mid)
  assert.strictEqual((await call('Hgetall', last, 'hb')).length, 101)
  console.log('ok backup.lua')

  for (let i = 0; i < 10; i++) await call('Hset', mm, 'tx', `f${i}`, 'old')
  await call('Begin', mm, 10)
  await call('Hset', mm, 'tx', 'f3', 'new')
  assert.strictEqual(await call('Hget', mm, 'tx', 'f3'), 'new')
  await call('Rollback', mm)
  assert.strictEqual(await call('Hget', mm, 'tx', 'f3'), 'old')
  await call('Begin', mm, 10)
  await call('Hset', mm, 'tx', 'f3', 'new')
  await call('Commit', mm)
  assert.strictEqual(await call('Hget', mm, 'tx', 'f3'), 'new')
  console.log('ok transactions')

  await call('MMDelVers', sid, mid, 'cur')
  assert.strictEqual(await call('Get', mm, 'key0'), null)
  console.log('ok delver.lua')

  await refused('create as guest', () => call('MMCreate', gsid, '', '', 'x', 2, 0), 'needs its API token')
  await call('Logout', sid)
  await refused('after logout', () => call('MMOpen', sid, mid, 'cur'), 'unknown or expired session')
  console.log('all ok')
  client.close()
  process.exit(0)
})().catch(e => { console.error(e); process.exit(1) })
