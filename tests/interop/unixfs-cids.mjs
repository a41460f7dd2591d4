// Prints "<path> <cid>" for each path argument, computed by npm's ipfs-unixfs-importer with
// kubo's profile (CIDv0, dag-pb leaves, 256 KiB chunks, 174 links, links-bytes HAMT).
// Directories are imported as trees (hidden names skipped, empty dirs kept, like kubo).
import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { createReadStream, readdirSync, lstatSync, readlinkSync } from 'node:fs'
import { join, basename } from 'node:path'

const options = { profile: 'unixfs-v0-2015', cidVersion: 0, rawLeaves: false }

function * walk (abs, rel) {
  const st = lstatSync(abs)
  if (st.isDirectory()) {
    yield { path: rel }
    for (const name of readdirSync(abs)) {
      if (name.startsWith('.')) continue
      yield * walk(join(abs, name), `${rel}/${name}`)
    }
  } else if (st.isFile()) {
    yield { path: rel, content: createReadStream(abs, { highWaterMark: 1 << 20 }) }
  } else {
    throw new Error(`unsupported entry ${abs} (symlinks are not compared here)`)
  }
}

for (const path of process.argv.slice(2)) {
  const store = new MemoryBlockstore()
  const st = lstatSync(path)
  let root
  if (st.isDirectory()) {
    const top = basename(path)
    for await (const entry of importer(walk(path, top), store, options)) {
      if (entry.path === top) root = entry.cid
    }
  } else {
    for await (const entry of importer([{ content: createReadStream(path, { highWaterMark: 1 << 20 }) }], store, options)) {
      root = entry.cid
    }
  }
  console.log(`${path} ${root.toString()}`)
}
