//! SHA-256 ceiling as built here: `cargo run --release -p cli --example sha_speed`.
#![allow(clippy::unwrap_used)] // a measuring tool: a failed unwrap ends the measurement
use sha2::{Digest, Sha256};
fn main() {
    let buf = vec![7u8; 262_158];
    let t = std::time::Instant::now();
    let mut x = 0u8;
    for _ in 0..4096 {
        x ^= Sha256::digest(&buf)[0];
    }
    let s = t.elapsed().as_secs_f64();
    println!("sha256 {:.0} MB/s ({x})", 4096.0 * 262_158.0 / s / 1e6);
}
