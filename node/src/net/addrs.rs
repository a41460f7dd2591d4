//! The addresses a node can be reached at, read from the OS (both runtimes use this).

use proto_core::dht::Addr;
use proto_core::maddr::Multiaddr;
use std::net::SocketAddr;

/// Addresses this node can be reached at: the bound one, or every local address for 0.0.0.0.
pub fn listen_addrs(bound: SocketAddr) -> Vec<Addr> {
    let ips: Vec<std::net::IpAddr> = if bound.ip().is_unspecified() { local_ipv4() } else { vec![bound.ip()] };
    ips.into_iter()
        .map(|ip| Addr(Multiaddr::from_socket(SocketAddr::new(ip, bound.port())).as_bytes().to_vec()))
        .collect()
}

/// The machine's IPv4 addresses, from /proc/net/fib_trie (Linux); loopback when unreadable.
fn local_ipv4() -> Vec<std::net::IpAddr> {
    let mut out: Vec<std::net::IpAddr> = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/proc/net/fib_trie") {
        let mut last: Option<std::net::IpAddr> = None;
        for line in text.lines() {
            let t = line.trim().trim_start_matches("|-- ").trim_start_matches("+-- ");
            if let Ok(ip) = t.parse::<std::net::Ipv4Addr>() {
                last = Some(ip.into());
            } else if line.contains("/32 host LOCAL") {
                if let Some(ip) = last {
                    if !out.contains(&ip) {
                        out.push(ip);
                    }
                }
            }
        }
    }
    if out.is_empty() {
        out.push(std::net::Ipv4Addr::LOCALHOST.into());
    }
    out.sort();
    out
}
