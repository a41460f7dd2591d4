//! Who gets in at accept: the same rules on every runtime, decided before the runtime spends a
//! thread or a task on the connection.
//!
//! - At most `max_conns_per_ip` accepted connections from one source (an IPv4 address, or an
//!   IPv6 /64, what one host usually has); a new one beyond that is refused.
//! - At most `max_handshakes` accepted connections still in their Noise handshake. When that is
//!   full, or `max_conns` is, the oldest pending handshake is dropped to admit the new one; only
//!   when every connection is an established session is the new one refused.
//!
//! Dropping the oldest keeps real peers in: a silent connection holds its slot until the
//! handshake timeout, so refusing newcomers would let a few hundred silent sockets, renewed
//! every timeout, keep every real peer out. Dropping the oldest gives each newcomer its turn;
//! a real peer finishes its handshake in a round trip or two, so shutting it out takes
//! `max_handshakes` new connections inside that round trip, and the per-source cap makes them
//! come from that many sources.

use super::conn::Conn;
use super::{Config, ConnId};
use crate::dht::Addr;
use core::net::IpAddr;
use std::collections::BTreeMap;

/// What an accept gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admit {
    Yes,
    /// In, once this pending handshake is dropped.
    Evict(ConnId),
    Refuse(&'static str),
}

/// The source a connection is counted under: an IPv4 address or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Source {
    V4(u32),
    V6(u64),
}

impl Source {
    /// `None` for an address that is not IP (the runtime passes the socket's peer address).
    pub(super) fn of(remote: &Addr) -> Option<Source> {
        let sa = crate::maddr::Multiaddr::from_bytes(&remote.0).ok()?.to_socket()?;
        Some(match sa.ip().to_canonical() {
            IpAddr::V4(v4) => Source::V4(u32::from(v4)),
            IpAddr::V6(v6) => Source::V6((u128::from(v6) >> 64) as u64),
        })
    }
}

/// Decides an accept from `source` given the connections open now.
pub(super) fn admit(cfg: &Config, conns: &BTreeMap<ConnId, Conn>, source: Option<Source>) -> Admit {
    if let Some(src) = source {
        let same = conns.values().filter(|c| c.source == Some(src)).count();
        if same >= cfg.max_conns_per_ip {
            return Admit::Refuse("too many connections from that address");
        }
    }
    let pending = || conns.iter().filter(|(_, c)| c.inbound && !c.session_established());
    let full = pending().count() >= cfg.max_handshakes || conns.len() >= cfg.max_conns;
    if !full {
        return Admit::Yes;
    }
    match pending().min_by_key(|(id, c)| (c.opened, **id)) {
        Some((id, _)) => Admit::Evict(*id),
        None => Admit::Refuse("the connection limit is reached"),
    }
}

#[cfg(test)]
mod tests {
    use crate::dht::{self, Addr};
    use crate::identity::Identity;
    use crate::maddr::Multiaddr;
    use crate::node::{Config, ConnId, Input, Node, Output};
    use crate::rng::Seed;
    use crate::time::{Mono, Now, UnixMs};

    fn at(ms: u64) -> Now {
        Now { mono: Mono(ms), unix: UnixMs(1_700_000_000_000 + ms) }
    }

    fn from(ip: &str, port: u16) -> Addr {
        let ip: core::net::IpAddr = ip.parse().unwrap();
        Addr(Multiaddr::from_socket((ip, port).into()).as_bytes().to_vec())
    }

    fn node(cfg: Config) -> Node {
        Node::new(cfg, Identity::from_seed([9; 32]), vec![], Seed::from_u64(1), dht::Restored::default(), at(0))
    }

    fn closes(n: &mut Node) -> Vec<u64> {
        let mut v = Vec::new();
        while let Some(o) = n.poll_output() {
            if let Output::Close { conn } = o {
                v.push(conn.0);
            }
        }
        v
    }

    fn accept(n: &mut Node, t: u64, conn: u64, remote: Addr) -> Vec<u64> {
        n.handle_input(at(t), Input::Accepted { conn: ConnId(conn), remote });
        closes(n)
    }

    #[test]
    fn one_source_gets_its_share_and_no_more() {
        let cfg = Config { max_conns_per_ip: 3, ..Config::default() };
        let mut n = node(cfg);
        for c in 1..=3 {
            assert_eq!(accept(&mut n, c, c, from("127.0.0.2", 1000 + c as u16)), Vec::<u64>::new());
        }
        // The fourth from that address is refused at once; another address still gets in.
        assert_eq!(accept(&mut n, 4, 4, from("127.0.0.2", 2000)), vec![4]);
        assert!(!n.is_open(ConnId(4)) && n.is_open(ConnId(3)));
        assert_eq!(accept(&mut n, 5, 5, from("127.0.0.1", 2000)), Vec::<u64>::new());
        // IPv4 seen through an IPv6 socket counts as the same address.
        assert_eq!(accept(&mut n, 6, 6, from("::ffff:127.0.0.2", 3000)), vec![6]);
        // One IPv6 /64 is one source; the next /64 is another.
        for c in 7..=9 {
            assert!(accept(&mut n, c, c, from(&format!("2001:db8::{c}"), 1)).is_empty());
        }
        assert_eq!(accept(&mut n, 10, 10, from("2001:db8::ffff:1", 1)), vec![10]);
        assert!(accept(&mut n, 11, 11, from("2001:db8:0:1::1", 1)).is_empty());
        // A closed one frees its place.
        n.handle_input(at(12), Input::Closed { conn: ConnId(1) });
        closes(&mut n);
        assert!(accept(&mut n, 13, 13, from("127.0.0.2", 4000)).is_empty());
    }

    #[test]
    fn a_full_handshake_table_drops_its_oldest() {
        let cfg = Config { max_handshakes: 4, max_conns_per_ip: 100, ..Config::default() };
        let mut n = node(cfg);
        for c in 1..=4 {
            assert!(accept(&mut n, c * 10, c, from("10.0.0.1", c as u16)).is_empty());
        }
        // The fifth gets in; the oldest pending handshake (conn 1) goes.
        assert_eq!(accept(&mut n, 50, 5, from("10.0.0.2", 1)), vec![1]);
        assert!(n.is_open(ConnId(5)) && !n.is_open(ConnId(1)));
        assert_eq!(accept(&mut n, 60, 6, from("10.0.0.3", 1)), vec![2]);
        assert_eq!(n.conn_count(), 4);
    }

    /// Node `b` dials `a` and both run until their session is up; returns a's side of it.
    fn establish(a: &mut Node, b: &mut Node, t: u64, accepted: u64) -> ConnId {
        let a_addr = from("127.0.0.1", 4801);
        b.handle_input(
            at(t),
            Input::Command { id: crate::dht::CommandId(1), command: crate::node::Command::Connect(a_addr) },
        );
        let dialed = loop {
            match b.poll_output() {
                Some(Output::Dial { conn, .. }) => break conn,
                Some(_) => {}
                None => panic!("no dial"),
            }
        };
        let (ac, bc) = (ConnId(accepted), dialed);
        a.handle_input(at(t), Input::Accepted { conn: ac, remote: from("10.0.0.9", 5000 + accepted as u16) });
        b.handle_input(at(t), Input::Connected { conn: bc });
        for _ in 0..20 {
            let mut moved = false;
            while let Some(o) = b.poll_output() {
                if let Output::Send { conn, bytes } = o {
                    assert_eq!(conn, bc);
                    a.handle_input(at(t), Input::Bytes { conn: ac, bytes });
                    moved = true;
                }
            }
            while let Some(o) = a.poll_output() {
                match o {
                    Output::Send { conn, bytes } if conn == ac => {
                        b.handle_input(at(t), Input::Bytes { conn: bc, bytes });
                        moved = true;
                    }
                    Output::Close { conn } => panic!("a closed {conn:?}"),
                    _ => {}
                }
            }
            if !moved {
                break;
            }
        }
        assert!(a.conns.get(&ac).is_some_and(|c| c.session_established()), "no session");
        ac
    }

    #[test]
    fn a_node_full_of_sessions_refuses_newcomers() {
        let mut a = node(Config { max_conns: 2, max_conns_per_ip: 100, ..Config::default() });
        let mut peers: Vec<Node> = (0..2)
            .map(|i| {
                let id = Identity::from_seed([20 + i; 32]);
                Node::new(Config::default(), id, vec![], Seed::from_u64(50 + i as u64), dht::Restored::default(), at(0))
            })
            .collect();
        for (i, p) in peers.iter_mut().enumerate() {
            establish(&mut a, p, 1, 1 + i as u64);
        }
        assert_eq!(a.conn_count(), 2);
        // Every connection is a session: nothing to drop, so the newcomer is closed at once.
        assert_eq!(accept(&mut a, 2, 9, from("10.0.0.3", 1)), vec![9]);
        assert!(a.is_open(ConnId(1)) && a.is_open(ConnId(2)) && !a.is_open(ConnId(9)));
    }

    #[test]
    fn a_full_node_drops_a_pending_handshake_or_refuses() {
        let cfg = Config { max_conns: 3, max_handshakes: 10, max_conns_per_ip: 100, ..Config::default() };
        let mut n = node(cfg);
        for c in 1..=3 {
            assert!(accept(&mut n, c, c, from("10.0.0.1", c as u16)).is_empty());
        }
        assert_eq!(accept(&mut n, 4, 4, from("10.0.0.1", 4)), vec![1]);
        assert_eq!(n.conn_count(), 3);
        // With nothing pending (here: no connections at all and a limit of zero) it is a refusal.
        let mut z = node(Config { max_conns: 0, ..Config::default() });
        assert_eq!(accept(&mut z, 1, 1, from("10.0.0.1", 1)), vec![1]);
    }
}
