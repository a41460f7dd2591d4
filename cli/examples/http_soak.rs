//! Honest clients beside hostile ones, for BENCHMARKS.md: `HONEST` keep-alive clients (from
//! 127.0.1.1–.20, as many hosts would be) read
//! `/ipfs/CID` (a think time of 20 ms between requests), `PEERS` other nodes' APIs look the CID's
//! providers up through the DHT (which asks the node under test), and `HOSTILE` connections from
//! 127.0.0.2–.11 misbehave for the whole run: a quarter send a head a byte every 500 ms, a
//! quarter a body a byte every 500 ms, a quarter connect and say nothing, a quarter ask for
//! `BIG_CID` and never read. Each hostile connection that is closed is opened again. Prints the
//! honest and peer latency percentiles.
//!
//!     http_soak ADDR CID BIG_CID SECONDS HONEST HOSTILE [PEER_API…]
#![allow(clippy::unwrap_used)] // a measuring tool: a failed unwrap ends the measurement

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn connect_from(local: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&SocketAddr::new(local.parse().unwrap(), 0).into())?;
    s.connect_timeout(&to.into(), Duration::from_secs(5))?;
    Ok(s.into())
}

/// One keep-alive GET; its body is read and dropped.
fn get(r: &mut BufReader<TcpStream>, path: &str) -> std::io::Result<u16> {
    write!(r.get_mut(), "GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n")?;
    read_response(r)
}

fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut len = 0u64;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    std::io::copy(&mut r.by_ref().take(len), &mut std::io::sink())?;
    Ok(status)
}

fn percentiles(mut v: Vec<u64>) -> String {
    if v.is_empty() {
        return "no requests".into();
    }
    v.sort_unstable();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)] as f64 / 1000.0;
    format!("n={} p50={:.2} ms p99={:.2} ms max={:.2} ms", v.len(), p(0.5), p(0.99), p(1.0))
}

fn hostile(kind: usize, from: String, to: SocketAddr, big: String, stop: Arc<AtomicBool>, opened: Arc<AtomicU64>) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut s) = connect_from(&from, to) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let head: Vec<u8> = match kind {
            0 => b"GET /ipfs/ HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec(),
            1 => b"POST /api/Id HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".to_vec(),
            2 => Vec::new(),
            _ => format!("GET /ipfs/{big} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        };
        if s.write_all(&head).is_err() {
            continue;
        }
        let mut b = [0u8; 1];
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(500));
            let alive = match kind {
                0 | 1 => s.write_all(b"a").is_ok(),
                // Closed by the node when a read returns 0.
                _ => !matches!(s.peek(&mut b), Ok(0)),
            };
            if !alive {
                break;
            }
        }
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        eprintln!("usage: http_soak ADDR CID BIG_CID SECONDS HONEST HOSTILE [PEER_API…]");
        std::process::exit(2);
    }
    let addr: SocketAddr = a[1].parse().expect("ADDR is host:port");
    let (cid, big) = (a[2].clone(), a[3].clone());
    let secs: u64 = a[4].parse().unwrap();
    let (honest, hostile_n): (usize, usize) = (a[5].parse().unwrap(), a[6].parse().unwrap());
    let peers: Vec<String> = a[7..].to_vec();
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for i in 0..hostile_n {
        let (stop, opened, big) = (stop.clone(), opened.clone(), big.clone());
        let from = format!("127.0.0.{}", 2 + i % 10);
        threads.push(std::thread::spawn(move || hostile(i % 4, from, addr, big, stop, opened)));
    }
    // Let the hostile connections settle before measuring.
    std::thread::sleep(Duration::from_secs(if hostile_n > 0 { 3 } else { 0 }));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let peer_lat = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut honest_threads = Vec::new();
    for i in 0..honest {
        let (lat, errors, path) = (lat.clone(), errors.clone(), format!("/ipfs/{cid}"));
        let from = format!("127.0.1.{}", 1 + i % 20);
        honest_threads.push(std::thread::spawn(move || {
            let mut mine = Vec::new();
            let mut conn: Option<BufReader<TcpStream>> = None;
            while Instant::now() < end {
                let t = Instant::now();
                if conn.is_none() {
                    conn = connect_from(&from, addr).ok().map(BufReader::new);
                }
                let ok = conn.as_mut().is_some_and(|c| matches!(get(c, &path), Ok(200)));
                if ok {
                    mine.push(t.elapsed().as_micros() as u64);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    conn = None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            lat.lock().unwrap().extend(mine);
        }));
    }
    for p in peers {
        let (peer_lat, errors, cid) = (peer_lat.clone(), errors.clone(), cid.clone());
        honest_threads.push(std::thread::spawn(move || {
            let body = format!("[\"{cid}\"]");
            while Instant::now() < end {
                let t = Instant::now();
                let ok = TcpStream::connect(p.as_str()).and_then(|s| {
                    let mut r = BufReader::new(s);
                    write!(
                        r.get_mut(),
                        "POST /api/DhtFindProvs HTTP/1.1\r\nHost: p\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )?;
                    read_response(&mut r)
                });
                match ok {
                    Ok(200) => peer_lat.lock().unwrap().push(t.elapsed().as_micros() as u64),
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }));
    }
    for t in honest_threads {
        let _ = t.join();
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    println!("honest {} clients: {}", honest, percentiles(std::mem::take(&mut lat.lock().unwrap())));
    println!("peer lookups: {}", percentiles(std::mem::take(&mut peer_lat.lock().unwrap())));
    println!("honest errors: {}", errors.load(Ordering::Relaxed));
    println!("hostile connections opened: {} (held at once: {hostile_n})", opened.load(Ordering::Relaxed));
}
