#!/usr/bin/env bash
# The sans-IO fence (DESIGN.md §2): proto-core's normal dependency tree must not contain a crate
# that does I/O, and its source must not reach the clock, entropy, sockets, files or threads.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(getrandom|libc|mio|polling|async-[a-z-]+|futures[a-z-]*|smol|tokio|heed|heed-traits|lmdb-master-sys|tiny_http|libp2p-core|rand|socket2)$'
# The simulator is held to the same rule: its only clock is virtual.
for crate in proto-core sim; do
  tree=$(cargo tree -p "$crate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  bad=$(echo "$tree" | grep -E "$forbidden" || true)
  if [ -n "$bad" ]; then
    echo "sans-IO fence: $crate depends on crates that do I/O:"; echo "$bad"; exit 1
  fi
  dir=${crate}/src
  src=$(grep -rnE 'std::net|std::thread|std::fs|std::process|Instant::now|SystemTime::now|thread_rng|OsRng|getrandom|HashMap|HashSet' "$dir" | grep -vE '^\S+:\s*//' || true)
  if [ -n "$src" ]; then
    echo "sans-IO fence: $crate source reaches the OS or unordered maps:"; echo "$src"; exit 1
  fi
  echo "sans-IO fence: $crate ok ($(echo "$tree" | wc -l) crates in its tree)"
done
