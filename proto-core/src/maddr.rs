//! Multiaddrs (the multiformats address format) for the protocols a node uses: `/ip4`, `/ip6`,
//! `/dns`, `/dns4`, `/dns6`, `/tcp`, and `/p2p` (also written `/ipfs`) naming the peer by its
//! libp2p peer id. Binary and text forms are the standard ones, so they
//! interoperate with libp2p tooling; the codec is ours to keep the core free of libp2p's
//! executors and the binary small (docs/architecture.md).

use crate::{multibase, varint};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::fmt;

const IP4: u64 = 0x04;
const TCP: u64 = 0x06;
const IP6: u64 = 0x29;
const DNS: u64 = 0x35;
const DNS4: u64 = 0x36;
const DNS6: u64 = 0x37;
const P2P: u64 = 0x01a5;
/// Longest binary address accepted.
pub const MAX_LEN: usize = 256;
/// Longest text accepted: room for the text of any binary address of `MAX_LEN` bytes (a 3-byte
/// `/tcp` part prints as up to 10 characters).
pub const MAX_TEXT: usize = 4 * MAX_LEN;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multiaddr(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaddrError(pub String);

impl fmt::Display for MaddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid multiaddr: {}", self.0)
    }
}

enum Part {
    Ip(IpAddr),
    Dns(u64, String),
    Tcp(u16),
    /// A peer id's multihash.
    P2p(Vec<u8>),
}

/// A DNS name as addresses carry it: letters, digits, `-`, `_` and `.`, 1 to 253 of them.
fn is_host_name(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A varint length and that many bytes at the start of `b`: the bytes, and where they end.
fn prefixed(b: &[u8]) -> Option<(&[u8], usize)> {
    let (len, n) = varint::read(b)?;
    let end = n.checked_add(usize::try_from(len).ok()?)?;
    Some((b.get(n..end)?, end))
}

/// Whether `b` is one multihash: a code, a length and that many bytes.
fn is_multihash(b: &[u8]) -> bool {
    let Some((_, n)) = varint::read(b) else { return false };
    matches!(prefixed(&b[n..]), Some((_, end)) if n + end == b.len())
}

fn parts(bytes: &[u8]) -> Result<Vec<Part>, MaddrError> {
    let err = |m: &str| MaddrError(m.to_string());
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (code, n) = varint::read(rest).ok_or_else(|| err("bad protocol code"))?;
        rest = &rest[n..];
        match code {
            IP4 => {
                let b: [u8; 4] = rest.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(|| err("short ip4"))?;
                out.push(Part::Ip(IpAddr::V4(Ipv4Addr::from(b))));
                rest = &rest[4..];
            }
            IP6 => {
                let b: [u8; 16] = rest.get(..16).and_then(|b| b.try_into().ok()).ok_or_else(|| err("short ip6"))?;
                out.push(Part::Ip(IpAddr::V6(Ipv6Addr::from(b))));
                rest = &rest[16..];
            }
            TCP => {
                let b: [u8; 2] = rest.get(..2).and_then(|b| b.try_into().ok()).ok_or_else(|| err("short tcp"))?;
                out.push(Part::Tcp(u16::from_be_bytes(b)));
                rest = &rest[2..];
            }
            DNS | DNS4 | DNS6 => {
                let (name, end) = prefixed(rest).ok_or_else(|| err("short dns"))?;
                let name = std::str::from_utf8(name).map_err(|_| err("dns name is not utf-8"))?;
                if !is_host_name(name) {
                    return Err(err("not a host name"));
                }
                out.push(Part::Dns(code, name.to_string()));
                rest = &rest[end..];
            }
            P2P => {
                let (id, end) = prefixed(rest).ok_or_else(|| err("short p2p"))?;
                if !is_multihash(id) {
                    return Err(err("the p2p value is not a multihash"));
                }
                out.push(Part::P2p(id.to_vec()));
                rest = &rest[end..];
            }
            c => return Err(MaddrError(format!("unsupported protocol 0x{c:x}"))),
        }
    }
    Ok(out)
}

impl Multiaddr {
    pub fn from_bytes(b: &[u8]) -> Result<Self, MaddrError> {
        if b.len() > MAX_LEN {
            return Err(MaddrError("too long".into()));
        }
        if b.is_empty() {
            return Err(MaddrError("empty".into()));
        }
        parts(b)?;
        Ok(Multiaddr(b.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn parse(text: &str) -> Result<Self, MaddrError> {
        if text.len() > MAX_TEXT || !text.starts_with('/') {
            return Err(MaddrError(format!("\"{text}\" does not start with /")));
        }
        let mut out = Vec::new();
        let mut it = text.split('/').skip(1);
        while let Some(proto) = it.next() {
            let val = it.next().ok_or_else(|| MaddrError(format!("/{proto} needs a value")))?;
            let bad = || MaddrError(format!("bad /{proto} value \"{val}\""));
            match proto {
                "ip4" => {
                    varint::write(&mut out, IP4);
                    out.extend_from_slice(&val.parse::<Ipv4Addr>().map_err(|_| bad())?.octets());
                }
                "ip6" => {
                    varint::write(&mut out, IP6);
                    out.extend_from_slice(&val.parse::<Ipv6Addr>().map_err(|_| bad())?.octets());
                }
                "tcp" => {
                    varint::write(&mut out, TCP);
                    out.extend_from_slice(&val.parse::<u16>().map_err(|_| bad())?.to_be_bytes());
                }
                "dns" | "dns4" | "dns6" => {
                    let code = match proto {
                        "dns" => DNS,
                        "dns4" => DNS4,
                        _ => DNS6,
                    };
                    if !is_host_name(val) {
                        return Err(bad());
                    }
                    varint::write(&mut out, code);
                    varint::write(&mut out, val.len() as u64);
                    out.extend_from_slice(val.as_bytes());
                }
                "p2p" | "ipfs" => {
                    let id = match crate::peer_id::parse(val) {
                        Ok(key) => crate::peer_id::multihash(&key),
                        // Peers with other keys (RSA: `Qm…`) are named by a hash of the key.
                        Err(_) => multibase::base58btc_decode(val).filter(|b| is_multihash(b)).ok_or_else(|| {
                            MaddrError(format!("bad /{proto} value \"{val}\": a peer id is base58btc (12D3KooW…, Qm…)"))
                        })?,
                    };
                    varint::write(&mut out, P2P);
                    varint::write(&mut out, id.len() as u64);
                    out.extend_from_slice(&id);
                }
                p => return Err(MaddrError(format!("unsupported protocol /{p}"))),
            }
        }
        // The binary form has its own limit, which a text within MAX_TEXT may still pass.
        if out.len() > MAX_LEN {
            return Err(MaddrError(format!("\"{text}\" is longer than {MAX_LEN} bytes in binary")));
        }
        Ok(Multiaddr(out))
    }

    pub fn from_socket(sa: SocketAddr) -> Self {
        let mut out = Vec::new();
        match sa.ip() {
            IpAddr::V4(ip) => {
                varint::write(&mut out, IP4);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                varint::write(&mut out, IP6);
                out.extend_from_slice(&ip.octets());
            }
        }
        varint::write(&mut out, TCP);
        out.extend_from_slice(&sa.port().to_be_bytes());
        Multiaddr(out)
    }

    /// `/ip4|ip6/…/tcp/…[/p2p/…]` as a socket address (DNS names are for the runtime to resolve).
    pub fn to_socket(&self) -> Option<SocketAddr> {
        match parts(&self.0).ok()?.as_slice() {
            [Part::Ip(ip), Part::Tcp(port)] | [Part::Ip(ip), Part::Tcp(port), Part::P2p(_)] => {
                Some(SocketAddr::new(*ip, *port))
            }
            _ => None,
        }
    }

    /// `(host, port)` to dial for an address `/ip*|dns*/…/tcp/…[/p2p/…]`.
    pub fn to_host_port(&self) -> Option<(String, u16)> {
        match parts(&self.0).ok()?.as_slice() {
            [Part::Dns(_, h), Part::Tcp(port)] | [Part::Dns(_, h), Part::Tcp(port), Part::P2p(_)] => {
                Some((h.clone(), *port))
            }
            [Part::Ip(ip), Part::Tcp(port)] | [Part::Ip(ip), Part::Tcp(port), Part::P2p(_)] => {
                Some((ip.to_string(), *port))
            }
            _ => None,
        }
    }

    /// The peer the address names (`/p2p/…`, any key type), if it names one.
    pub fn p2p(&self) -> Option<Result<crate::libp2p::PeerId, crate::peer_id::PeerIdError>> {
        parts(&self.0).ok()?.into_iter().find_map(|p| match p {
            Part::P2p(id) => Some(crate::libp2p::PeerId::from_bytes(&id)),
            _ => None,
        })
    }

    /// The ed25519 key of the peer the address names (`/p2p/12D3KooW…`), if it names one; an
    /// error for a peer id that carries no ed25519 key.
    pub fn peer_key(&self) -> Option<Result<[u8; 32], crate::peer_id::PeerIdError>> {
        parts(&self.0).ok()?.into_iter().find_map(|p| match p {
            Part::P2p(id) => Some(crate::peer_id::key_of(&id)),
            _ => None,
        })
    }
}

impl fmt::Display for Multiaddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(ps) = parts(&self.0) else { return write!(f, "/invalid") };
        for p in ps {
            match p {
                Part::Ip(IpAddr::V4(ip)) => write!(f, "/ip4/{ip}")?,
                Part::Ip(IpAddr::V6(ip)) => write!(f, "/ip6/{ip}")?,
                Part::Tcp(port) => write!(f, "/tcp/{port}")?,
                Part::Dns(DNS4, h) => write!(f, "/dns4/{h}")?,
                Part::Dns(DNS6, h) => write!(f, "/dns6/{h}")?,
                Part::Dns(_, h) => write!(f, "/dns/{h}")?,
                Part::P2p(id) => write!(f, "/p2p/{}", multibase::base58btc_encode(&id))?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Multiaddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Multiaddr({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_binary_forms() {
        // Binary form of /ip4/127.0.0.1/tcp/4001 as the multiaddr spec gives it.
        let m = Multiaddr::parse("/ip4/127.0.0.1/tcp/4001").unwrap();
        assert_eq!(m.as_bytes(), [0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1]);
        assert_eq!(m.to_string(), "/ip4/127.0.0.1/tcp/4001");
        assert_eq!(m.to_socket(), Some("127.0.0.1:4001".parse().unwrap()));
        for t in ["/ip6/2600:1f11:ec1:3001:4d57:55c2:aec6:e279/tcp/80", "/dns4/example.org/tcp/4801"] {
            let m = Multiaddr::parse(t).unwrap();
            assert_eq!(m.to_string(), t);
            assert_eq!(Multiaddr::from_bytes(m.as_bytes()).unwrap(), m);
        }
        assert!(Multiaddr::parse("/ip4/1.2.3/tcp/1").is_err());
        assert!(Multiaddr::parse("/udp/1").is_err());
        assert!(Multiaddr::from_bytes(&[0x04, 1]).is_err());
        assert!(Multiaddr::from_bytes(&[]).is_err(), "an empty address names nothing");
        assert!(Multiaddr::from_bytes(&[0x37, 1, b'/']).is_err(), "a dns name that no text can carry");
        assert!(Multiaddr::parse("/dns4//tcp/1").is_err());
        // Two long names fit the text limit but not the binary one (found by the fuzzer).
        // 2 × (code + 2-byte length + 129 bytes) = 264 > MAX_LEN.
        let name = format!("{}.{}", "k".repeat(60), "k".repeat(68));
        assert!(Multiaddr::parse(&format!("/dns6/{name}")).is_ok());
        assert!(Multiaddr::parse(&format!("/dns6/{name}/dns6/{name}")).is_err());
        // A length past the end of memory (found by fuzzing): refused, not an overflow.
        let huge = [0x37, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x5a];
        assert!(Multiaddr::from_bytes(&huge).is_err());
    }

    #[test]
    fn p2p_names_the_peer() {
        let id = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
        let m = Multiaddr::parse(&format!("/ip4/10.0.0.7/tcp/4001/p2p/{id}")).unwrap();
        assert_eq!(m.to_string(), format!("/ip4/10.0.0.7/tcp/4001/p2p/{id}"));
        assert_eq!(Multiaddr::from_bytes(m.as_bytes()).unwrap(), m);
        assert_eq!(m.to_socket(), Some("10.0.0.7:4001".parse().unwrap()));
        assert_eq!(m.to_host_port(), Some(("10.0.0.7".into(), 4001)));
        assert_eq!(m.peer_key(), Some(crate::peer_id::parse(id)));
        // The binary form: code 0x01a5 as a varint (a5 03), the length 38, the multihash.
        let tail = &m.as_bytes()[8..];
        assert_eq!(&tail[..3], &[0xa5, 0x03, 38]);
        // `/ipfs/` is the old name of the same protocol; an RSA peer id is kept, named by its hash.
        let old = Multiaddr::parse(&format!("/dns4/example.org/tcp/4001/ipfs/{id}")).unwrap();
        assert_eq!(old.to_string(), format!("/dns4/example.org/tcp/4001/p2p/{id}"));
        let rsa = Multiaddr::parse("/ip4/1.2.3.4/tcp/4001/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt").unwrap();
        assert_eq!(rsa.peer_key(), Some(Err(crate::peer_id::PeerIdError::Hashed)));
        assert_eq!(Multiaddr::parse("/ip4/1.2.3.4/tcp/1").unwrap().peer_key(), None);
        assert!(Multiaddr::parse("/ip4/1.2.3.4/tcp/1/p2p/notbase58!").is_err());
        assert!(Multiaddr::from_bytes(&[0xa5, 0x03, 3, 0x00, 5, 1]).is_err(), "a p2p value that is no multihash");
    }
}
