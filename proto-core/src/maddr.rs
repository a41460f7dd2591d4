//! Multiaddrs (the multiformats address format) for the protocols a node uses: `/ip4`, `/ip6`,
//! `/dns`, `/dns4`, `/dns6` and `/tcp`. Binary and text forms are the standard ones, so they
//! interoperate with libp2p tooling; the codec is ours to keep the core free of libp2p's
//! executors and the binary small (docs/architecture.md).

use crate::varint;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::fmt;

const IP4: u64 = 0x04;
const TCP: u64 = 0x06;
const IP6: u64 = 0x29;
const DNS: u64 = 0x35;
const DNS4: u64 = 0x36;
const DNS6: u64 = 0x37;
/// Longest address accepted (text or binary).
pub const MAX_LEN: usize = 256;

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
                let (len, n) = varint::read(rest).ok_or_else(|| err("bad dns length"))?;
                let name = rest.get(n..n + len as usize).ok_or_else(|| err("short dns"))?;
                let name = std::str::from_utf8(name).map_err(|_| err("dns name is not utf-8"))?;
                out.push(Part::Dns(code, name.to_string()));
                rest = &rest[n + len as usize..];
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
        parts(b)?;
        Ok(Multiaddr(b.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn parse(text: &str) -> Result<Self, MaddrError> {
        if text.len() > MAX_LEN || !text.starts_with('/') {
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
                    varint::write(&mut out, code);
                    varint::write(&mut out, val.len() as u64);
                    out.extend_from_slice(val.as_bytes());
                }
                p => return Err(MaddrError(format!("unsupported protocol /{p}"))),
            }
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

    /// `/ip4|ip6/…/tcp/…` as a socket address (DNS names are for the runtime to resolve).
    pub fn to_socket(&self) -> Option<SocketAddr> {
        match parts(&self.0).ok()?.as_slice() {
            [Part::Ip(ip), Part::Tcp(port)] => Some(SocketAddr::new(*ip, *port)),
            _ => None,
        }
    }

    /// `(host, port)` for a `/dns*/…/tcp/…` address.
    pub fn to_host_port(&self) -> Option<(String, u16)> {
        match parts(&self.0).ok()?.as_slice() {
            [Part::Dns(_, h), Part::Tcp(port)] => Some((h.clone(), *port)),
            [Part::Ip(ip), Part::Tcp(port)] => Some((ip.to_string(), *port)),
            _ => None,
        }
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
    }
}
