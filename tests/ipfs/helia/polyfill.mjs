// Promise.withResolvers for Node 20 (it arrived in Node 22); js-libp2p 3 calls it.
// Loaded before the peer with `node --import ./polyfill.mjs peer.mjs`.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new this((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
