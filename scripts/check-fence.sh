#!/usr/bin/env bash
# The sans-IO fence (DESIGN.md §2): proto-core's normal dependency tree must not contain a crate
# that does I/O, and its source must not reach the clock, entropy, sockets, files or threads.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(getrandom|libc|mio|polling|async-[a-z-]+|futures[a-z-]*|smol|tokio|heed|heed-traits|lmdb-master-sys|tiny_http|libp2p-core|rand|socket2)$'
tree=$(cargo tree -p proto-core -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
bad=$(echo "$tree" | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
  echo "sans-IO fence: proto-core depends on crates that do I/O:"; echo "$bad"; exit 1
fi
src=$(grep -rnE 'std::net::(TcpStream|TcpListener|UdpSocket)|std::thread|std::fs|std::process|Instant::now|SystemTime::now|thread_rng|OsRng|getrandom' proto-core/src | grep -vE '^\S+:\s*//' || true)
if [ -n "$src" ]; then
  echo "sans-IO fence: proto-core source reaches the OS:"; echo "$src"; exit 1
fi
echo "sans-IO fence: ok ($(echo "$tree" | wc -l) crates in proto-core's tree)"
