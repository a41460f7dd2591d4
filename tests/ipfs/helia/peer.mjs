// One real helia 7 (js-libp2p 3) IPFS peer on loopback TCP, driven by JSON lines on stdin.
//
//   node --import ./polyfill.mjs peer.mjs --port P [--key ed25519|rsa|secp256k1] [--seed HEX]
//        [--dht-protocol /ipfs/kad/1.0.0]
//
// libp2p: TCP on 127.0.0.1:P (0 = a free port), noise, yamux, identify, ping, kad-dht (server
// mode, passthroughMapper, queries with zero peers allowed, no bootstrap), bitswap, a memory
// blockstore and datastore. Prints one JSON line {"id", "addrs", "agent", "protocols"}, then
// answers each command line with one JSON line, {"ok": true, ...} or {"error": "..."}:
//
//   connect {maddr}                -> {"peer", "protocols", "in_dht"} (after identify, and after
//                                     the DHT took the peer when it speaks our DHT protocol)
//   peers                          -> {"peers": [{"id", "addrs", "agent", "protocols"}]}
//   ping {peer}                    -> {"ms"}
//   identify {peer}                -> {"agent", "protocol_version", "protocols", "listen_addrs"}
//   add {path}                     -> {"cid"} (kubo's defaults: CIDv0, dag-pb leaves, 256 KiB, balanced 174)
//   cat {cid, dest}                -> {"bytes"}
//   findpeer {id}                  -> {"addrs"}
//   findprovs {cid, max?}          -> {"providers": [{"id", "addrs"}], "complete"}
//   provide {cid}
//   closest {key}                  -> {"peers": [{"id", "addrs"}]} (key: a peer id or a CID)
//   quit
//
// Every command takes an optional timeout_s (default 10) and then answers {"error": "timeout"};
// findprovs answers with what it found so far when it found any.
import { createReadStream, createWriteStream } from 'node:fs'
import { once, setMaxListeners } from 'node:events'
import { createInterface } from 'node:readline'
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { MemoryDatastore } from 'datastore-core/memory'

function args () {
  const opts = { port: '0', key: 'ed25519', seed: null, 'dht-protocol': '/ipfs/kad/1.0.0' }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '')
    if (!(name in opts) || argv[i + 1] == null) {
      console.error(`usage: peer.mjs [--port P] [--key ed25519|rsa|secp256k1] [--seed HEX] [--dht-protocol ID]; bad ${argv[i]}`)
      process.exit(2)
    }
    opts[name] = argv[i + 1]
  }
  return opts
}

async function privateKey (kind, seed) {
  const type = { ed25519: 'Ed25519', rsa: 'RSA', secp256k1: 'secp256k1' }[kind]
  if (type == null) throw new Error(`unknown key type ${kind}`)
  if (seed != null && type === 'Ed25519') return generateKeyPairFromSeed(type, Buffer.from(seed, 'hex'))
  return type === 'RSA' ? generateKeyPair(type, 2048) : generateKeyPair(type)
}

const opts = args()
const helia = withBitswap(withLibp2pLight(createHeliaLight({
  blockstore: new MemoryBlockstore(),
  datastore: new MemoryDatastore()
}), {
  privateKey: await privateKey(opts.key, opts.seed),
  addresses: { listen: [`/ip4/127.0.0.1/tcp/${opts.port}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: async () => false },
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      protocol: opts['dht-protocol'],
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      allowQueryWithZeroPeers: true
    })
  }
}))
await helia.start()
const libp2p = helia.libp2p
const fs = unixfs(helia)
// kubo's `ipfs add` defaults; @helia/unixfs's own are CIDv1, raw leaves, 1 MiB chunks, 1024 links.
const KUBO_IMPORT = {
  cidVersion: 0,
  rawLeaves: false,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}

const text = (bytes) => bytes == null ? null : new TextDecoder().decode(bytes)
const info = (p) => ({ id: p.id.toString(), addrs: (p.multiaddrs ?? []).map(String) })
const peerId = (s) => peerIdFromString(s)

function dhtKey (key) {
  try {
    return peerIdFromString(key).toMultihash().bytes
  } catch {
    return CID.parse(key).multihash.bytes
  }
}

async function connection (peer) {
  const id = peerId(peer)
  return libp2p.getConnections(id)[0] ?? libp2p.dial(id)
}

const commands = {
  // Answers once identify has told the peer store the peer's protocols and, when the peer
  // serves our DHT protocol, once the DHT has it in its routing table.
  async connect ({ maddr }, signal) {
    const conn = await libp2p.dial(multiaddr(maddr), { signal })
    const id = conn.remotePeer
    for (;;) {
      const p = await libp2p.peerStore.get(id).catch(() => null)
      const protocols = p?.protocols ?? []
      const dht = protocols.includes(opts['dht-protocol'])
      const identified = p?.metadata.get('AgentVersion') != null
      if (identified && (!dht || await libp2p.services.dht.routingTable.find(id) != null)) {
        return { peer: id.toString(), protocols, in_dht: dht }
      }
      if (signal.aborted) throw new Error('identify or the DHT routing table did not take the peer')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  },
  async peers () {
    const peers = []
    for (const id of libp2p.getPeers()) {
      const p = await libp2p.peerStore.get(id).catch(() => null)
      peers.push({
        id: id.toString(),
        addrs: libp2p.getConnections(id).map((c) => c.remoteAddr.toString()),
        agent: text(p?.metadata.get('AgentVersion')),
        protocols: p?.protocols ?? []
      })
    }
    return { peers }
  },
  async ping ({ peer }, signal) {
    return { ms: await libp2p.services.ping.ping(peerId(peer), { signal }) }
  },
  async identify ({ peer }, signal) {
    const r = await libp2p.services.identify.identify(await connection(peer), { signal })
    return {
      agent: r.agentVersion ?? null,
      protocol_version: r.protocolVersion ?? null,
      protocols: r.protocols,
      listen_addrs: r.listenAddrs.map(String)
    }
  },
  async add ({ path }, signal) {
    const cid = await fs.addByteStream(createReadStream(path, { highWaterMark: 1 << 20 }), { ...KUBO_IMPORT, signal })
    return { cid: cid.toString() }
  },
  async cat ({ cid, dest }, signal) {
    const out = createWriteStream(dest)
    let bytes = 0
    try {
      for await (const chunk of fs.cat(CID.parse(cid), { signal })) {
        bytes += chunk.length
        if (!out.write(chunk)) await once(out, 'drain')
      }
    } finally {
      out.end()
      await once(out, 'close')
    }
    return { bytes }
  },
  async findpeer ({ id }, signal) {
    return { addrs: info(await libp2p.peerRouting.findPeer(peerId(id), { signal })).addrs }
  },
  async findprovs ({ cid, max = 20 }, signal) {
    const providers = []
    try {
      for await (const p of libp2p.contentRouting.findProviders(CID.parse(cid), { signal })) {
        if (!providers.some((q) => q.id === p.id.toString())) providers.push(info(p))
        if (providers.length >= max) break
      }
    } catch (err) {
      if (!signal.aborted || providers.length === 0) throw err
      return { providers, complete: false }
    }
    return { providers, complete: true }
  },
  async provide ({ cid }, signal) {
    await libp2p.contentRouting.provide(CID.parse(cid), { signal })
    return {}
  },
  async closest ({ key }, signal) {
    const peers = []
    for await (const p of libp2p.peerRouting.getClosestPeers(dhtKey(key), { signal })) peers.push(info(p))
    return { peers }
  }
}

function reply (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function run (req) {
  if (req.cmd === 'quit') return null
  const fn = commands[req.cmd]
  if (fn == null) return { error: `unknown command ${JSON.stringify(req.cmd)}` }
  const signal = AbortSignal.timeout(1000 * (req.timeout_s ?? 10))
  setMaxListeners(Infinity, signal) // every dial and stream of a DHT query listens on it
  const expired = new Promise((resolve) => signal.addEventListener('abort', () => resolve({ error: 'timeout' })))
  const done = fn(req, signal).then((r) => ({ ok: true, ...r }))
  try {
    // A call that ignores its signal still answers on time.
    return await Promise.race([done, expired])
  } catch (err) {
    return signal.aborted ? { error: 'timeout' } : { error: `${err.name}: ${err.message}` }
  }
}

reply({
  id: libp2p.peerId.toString(),
  addrs: libp2p.getMultiaddrs().map(String),
  agent: `${helia.info.name}/${helia.info.version}`,
  protocols: libp2p.getProtocols()
})
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue
  let req
  try {
    req = JSON.parse(line)
  } catch (err) {
    reply({ error: `bad JSON: ${err.message}` })
    continue
  }
  const res = await run(req)
  if (res == null) break
  reply(res)
}
reply({ ok: true })
await Promise.race([helia.stop(), new Promise((resolve) => setTimeout(resolve, 2000))])
process.exit(0)
