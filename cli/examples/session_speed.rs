//! Secure-session costs: `cargo run --release -p cli --example session_speed`.
//! Handshakes per second (both sides, one core) and encrypt+decrypt throughput of 256 KiB frames.
#![allow(clippy::unwrap_used)] // a measuring tool: a failed unwrap ends the measurement
use proto_core::identity::Identity;
use proto_core::rng::Seed;
use proto_core::session::{Ciphers, Session, Suite};
use std::time::Instant;

fn pair(n: u64, suite: Suite, ciphers: &Ciphers) -> (Session, Session) {
    let a = Identity::from_seed([1; 32]);
    let b = Identity::from_seed([2; 32]);
    let (mut i, m1) = Session::initiator(&a, Seed::from_u64(n), None, suite, ciphers).unwrap();
    let mut r = Session::responder(&b, Seed::from_u64(n + 1), ciphers).unwrap();
    let m2 = r.read_handshake(&m1).unwrap().unwrap();
    let m3 = i.read_handshake(&m2).unwrap().unwrap();
    r.read_handshake(&m3).unwrap();
    (i, r)
}

fn main() {
    for (imp, ciphers) in [("built-in", Ciphers::default()), ("ring", node::net::ciphers::ring_ciphers())] {
        for suite in [Suite::ChaChaPoly, Suite::AesGcm] {
            let t = Instant::now();
            let n = 300;
            for k in 0..n {
                pair(k, suite, &ciphers);
            }
            let hs = n as f64 / t.elapsed().as_secs_f64();
            let (mut i, mut r) = pair(9, suite, &ciphers);
            let block = vec![7u8; 262_158];
            let t = Instant::now();
            let rounds = 2000;
            for _ in 0..rounds {
                let c = i.encrypt(&block).unwrap();
                let p = r.decrypt(&c).unwrap();
                assert_eq!(p.len(), block.len());
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "{} ({imp}): handshakes {hs:.0}/s (both sides on one core); encrypt+decrypt {:.0} MB/s of payload",
                suite.name(),
                rounds as f64 * block.len() as f64 / s / 1e6
            );
        }
    }
    println!("this CPU has AES instructions: {}", node::net::ciphers::hardware_aes());
}
