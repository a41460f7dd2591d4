//! In-memory importer throughput: `cargo run --release -p cli --example import_speed [MiB]`.
//! No disk and no HTTP: the ceiling for `ipfs add --only-hash`.
#![allow(clippy::unwrap_used)] // a measuring tool: a failed unwrap ends the measurement
use proto_core::unixfs::file::FileImporter;
use proto_core::unixfs::Profile;

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let buf: Vec<u8> = (0..1usize << 20).map(|i| (i * 31 + i / 7) as u8).collect();
    let mut imp = FileImporter::new(Profile::UNIXFS_V0_2015);
    let mut out = Vec::new();
    let t = std::time::Instant::now();
    for _ in 0..mib {
        imp.push(&buf, &mut out);
        for b in out.drain(..) {
            imp.recycle(b.bytes);
        }
    }
    let root = imp.finish(&mut out);
    let s = t.elapsed().as_secs_f64();
    println!("{} MiB in {s:.2} s: {:.0} MB/s ({})", mib, (mib << 20) as f64 / s / 1e6, root.cid);
}
