//! What each stream of a libp2p connection is for, and what its bytes do: identify (asked and
//! answered), ping (echoed and sent), kad requests (served and sent) and bitswap messages (read
//! from the peer's streams, written on our own one).

use super::{Event, Host, Output, PeerSummary, Reply};
use crate::dht::CommandId;
use crate::libp2p::conn::ConnEvent;
use crate::libp2p::identify::{self, Identify, IdentifyReader};
use crate::libp2p::keys::PublicKey;
use crate::libp2p::pb::{length_prefixed, LpReader};
use crate::libp2p::ping::{self, Echo, Pinger};
use crate::libp2p::yamux::StreamId;
use crate::libp2p::{bitswap, kad};
use crate::maddr::Multiaddr;
use crate::node::ConnId;

/// Why we opened a stream, until it agrees on its protocol.
pub(crate) enum Purpose {
    Identify,
    Ping(CommandId),
    Kad(kad::RequestId, kad::Message, bool),
    Bitswap,
}

pub(crate) enum Handler {
    Opening(Purpose),
    IdentifyAsk(IdentifyReader),
    IdentifyPush(IdentifyReader),
    PingEcho(Echo),
    PingOut(Pinger),
    KadIn(LpReader),
    KadOut {
        req: kad::RequestId,
        reader: LpReader,
    },
    BitswapIn(LpReader),
    BitswapOut,
    /// Written and closed on our side; waiting for the peer to finish.
    Done,
}

impl Host {
    pub(super) fn on_conn_event(&mut self, conn: ConnId, ev: ConnEvent) {
        match ev {
            ConnEvent::Secured { peer, key } => {
                if peer == self.peer_id() {
                    return self.close_conn(conn, "connected to ourselves");
                }
                let Some(pc) = self.conns.get_mut(&conn) else { return };
                pc.peer = Some(peer.clone());
                pc.key = Some(key);
                self.peers.insert(peer, conn);
            }
            ConnEvent::Ready => self.on_ready(conn),
            ConnEvent::Stream { id, proto, inbound: true } => self.on_inbound(conn, id, &proto),
            ConnEvent::Stream { id, inbound: false, .. } => self.on_outbound(conn, id),
            ConnEvent::Data { id, data } => {
                self.on_data(conn, id, &data);
                if let Some(pc) = self.conns.get_mut(&conn) {
                    pc.c.consumed(id, data.len());
                }
            }
            ConnEvent::Fin { id } => self.on_fin(conn, id),
            ConnEvent::Gone { id } | ConnEvent::Refused { id, .. } => {
                if let Some(h) = self.conns.get_mut(&conn).and_then(|pc| pc.handlers.remove(&id)) {
                    self.handler_gone(conn, h);
                }
            }
            ConnEvent::Writable { id } => {
                if self.conns.get(&conn).is_some_and(|pc| pc.bitswap_out == Some(id)) {
                    self.flush_bitswap(conn);
                }
            }
            ConnEvent::Closed { why } => {
                self.drop_conn(conn, why);
                self.out.push_back(Output::Close { conn });
            }
        }
    }

    pub(super) fn close_conn(&mut self, conn: ConnId, why: &str) {
        if let Some(pc) = self.conns.get_mut(&conn) {
            pc.c.close(why);
        }
        self.pump(conn);
    }

    fn on_ready(&mut self, conn: ConnId) {
        self.open(conn, &[identify::PROTOCOL], Purpose::Identify);
        let waiting = self.conns.get_mut(&conn).map(|pc| std::mem::take(&mut pc.kad_waiting)).unwrap_or_default();
        for (req, msg, expect) in waiting {
            self.open_kad(conn, req, msg, expect);
        }
    }

    /// Opens a stream for `purpose`; a connection that cannot open one is going away.
    pub(super) fn open(&mut self, conn: ConnId, protos: &[&str], purpose: Purpose) {
        let now = self.now_ms;
        let Some(pc) = self.conns.get_mut(&conn) else { return self.purpose_failed(purpose) };
        match pc.c.open_stream(now, protos) {
            Some(id) => {
                pc.handlers.insert(id, Handler::Opening(purpose));
                self.pump(conn);
            }
            None => self.purpose_failed(purpose),
        }
    }

    pub(super) fn open_kad(&mut self, conn: ConnId, req: kad::RequestId, msg: kad::Message, expect: bool) {
        // The protocol id the peer listed (kubo serves only its LAN DHT to loopback peers).
        let lan = self.conns.get(&conn).and_then(|pc| pc.theirs.as_ref()).is_some_and(|t| {
            t.protocols.iter().any(|p| p == kad::LAN_PROTOCOL) && !t.protocols.iter().any(|p| p == kad::PROTOCOL)
        });
        let protos: &[&str] =
            if lan { &[kad::LAN_PROTOCOL, kad::PROTOCOL] } else { &[kad::PROTOCOL, kad::LAN_PROTOCOL] };
        self.open(conn, protos, Purpose::Kad(req, msg, expect));
    }

    fn purpose_failed(&mut self, purpose: Purpose) {
        match purpose {
            Purpose::Kad(req, ..) => self.kad.handle_input(self.now_ms, kad::Input::Failed { req }),
            Purpose::Ping(id) => {
                self.out.push_back(Output::Reply { id, result: Err("cannot open a ping stream".into()) })
            }
            Purpose::Identify | Purpose::Bitswap => {}
        }
    }

    pub(super) fn our_identify(&self, observed: Option<&Multiaddr>) -> Identify {
        Identify {
            public_key: Some(PublicKey::Ed25519(self.identity.public_key()).encode()),
            listen_addrs: self.listen.iter().map(|a| a.as_bytes().to_vec()).collect(),
            protocols: self.supported(),
            observed_addr: observed.map(|a| a.as_bytes().to_vec()),
            protocol_version: Some("ipfs/0.1.0".into()),
            agent_version: Some(self.cfg.agent.clone()),
            signed_peer_record: None,
        }
    }

    fn on_inbound(&mut self, conn: ConnId, id: StreamId, proto: &str) {
        let max = self.cfg.max_streams_per_conn;
        let observed = self.conns.get(&conn).and_then(|pc| pc.addr.clone());
        let answer = (proto == identify::PROTOCOL).then(|| self.our_identify(observed.as_ref()).encode());
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        if pc.handlers.len() >= max {
            pc.c.reset_stream(id);
            return;
        }
        let h = match proto {
            identify::PROTOCOL => {
                pc.c.write(id, &length_prefixed(&answer.unwrap_or_default()));
                pc.c.close_stream(id);
                Handler::Done
            }
            identify::PUSH_PROTOCOL => Handler::IdentifyPush(IdentifyReader::default()),
            ping::PROTOCOL => Handler::PingEcho(Echo::default()),
            kad::PROTOCOL | kad::LAN_PROTOCOL => Handler::KadIn(LpReader::new(kad::MAX_MESSAGE)),
            p if bitswap::PROTOCOLS.contains(&p) => Handler::BitswapIn(LpReader::new(bitswap::MAX_MESSAGE)),
            _ => {
                pc.c.reset_stream(id);
                return;
            }
        };
        pc.handlers.insert(id, h);
    }

    fn on_outbound(&mut self, conn: ConnId, id: StreamId) {
        let now = self.now_ms;
        let payload: [u8; 32] = self.seed.derive(&format!("ping-{}-{}-{now}", conn.0, id.0)).0;
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        let Some(Handler::Opening(purpose)) = pc.handlers.remove(&id) else { return };
        let h = match purpose {
            Purpose::Identify => Handler::IdentifyAsk(IdentifyReader::default()),
            Purpose::Ping(cmd) => {
                let pinger = Pinger::new(payload, now);
                pc.c.write(id, &pinger.request());
                self.ping_cmds.insert((conn, id), cmd);
                Handler::PingOut(pinger)
            }
            Purpose::Kad(req, msg, expect) => {
                pc.c.write(id, &length_prefixed(&msg.encode()));
                pc.c.close_stream(id);
                if expect {
                    Handler::KadOut { req, reader: LpReader::new(kad::MAX_MESSAGE) }
                } else {
                    Handler::Done
                }
            }
            Purpose::Bitswap => {
                pc.bitswap_out = Some(id);
                pc.bitswap_ready = true;
                pc.handlers.insert(id, Handler::BitswapOut);
                return self.flush_bitswap(conn);
            }
        };
        pc.handlers.insert(id, h);
    }

    fn on_data(&mut self, conn: ConnId, id: StreamId, data: &[u8]) {
        let now = self.now_ms;
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        let peer = pc.peer.clone();
        let is_bitswap = matches!(pc.handlers.get(&id), Some(Handler::BitswapIn(_)));
        let out_req = matches!(pc.handlers.get(&id), Some(Handler::KadOut { .. })).then_some(());
        let Some(h) = pc.handlers.get_mut(&id) else { return };
        let mut kad_in = Vec::new();
        let mut bitswap_in = Vec::new();
        let mut kad_reply = None;
        let mut bad = false;
        match h {
            Handler::IdentifyAsk(r) | Handler::IdentifyPush(r) => bad = r.handle_input(data).is_err(),
            Handler::PingEcho(e) => {
                let back = e.handle_input(data);
                if !back.is_empty() {
                    pc.c.write(id, &back);
                }
            }
            Handler::PingOut(p) => match p.handle_input(data, now) {
                Ok(Some(rtt_ms)) => {
                    if let Some(cmd) = self.ping_cmds.remove(&(conn, id)) {
                        self.out.push_back(Output::Reply { id: cmd, result: Ok(Reply::Pong { rtt_ms }) });
                    }
                    pc.c.close_stream(id);
                }
                Ok(None) => {}
                Err(_) => bad = true,
            },
            Handler::KadIn(r) | Handler::BitswapIn(r) | Handler::KadOut { reader: r, .. } => {
                if r.push(data).is_err() {
                    bad = true;
                }
                while !bad {
                    match r.next_message() {
                        Ok(Some(m)) if is_bitswap => bitswap_in.push(m),
                        Ok(Some(m)) if out_req.is_some() => kad_reply = Some(m),
                        Ok(Some(m)) => kad_in.push(m),
                        Ok(None) => break,
                        Err(_) => bad = true,
                    }
                    if kad_reply.is_some() {
                        break;
                    }
                }
            }
            Handler::Opening(_) | Handler::BitswapOut | Handler::Done => {}
        }
        if bad {
            pc.c.reset_stream(id);
            if let Some(h) = pc.handlers.remove(&id) {
                self.handler_gone(conn, h);
            }
            return;
        }
        let Some(peer) = peer else { return };
        for m in kad_in {
            self.kad_request(conn, id, &peer, &m);
        }
        for m in bitswap_in {
            match bitswap::Message::decode(&m) {
                Ok(msg) => {
                    self.bitswap.handle_input(now, bitswap::Input::Message { from: peer.clone(), msg });
                }
                Err(_) => return self.reset_handler(conn, id),
            }
        }
        if let Some(m) = kad_reply {
            let Some(pc) = self.conns.get_mut(&conn) else { return };
            let Some(Handler::KadOut { req, .. }) = pc.handlers.insert(id, Handler::Done) else { return };
            match kad::Message::decode(&m) {
                Ok(msg) => self.kad.handle_input(now, kad::Input::Response { req, msg }),
                Err(_) => self.kad.handle_input(now, kad::Input::Failed { req }),
            }
        }
    }

    fn reset_handler(&mut self, conn: ConnId, id: StreamId) {
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        pc.c.reset_stream(id);
        if let Some(h) = pc.handlers.remove(&id) {
            self.handler_gone(conn, h);
        }
    }

    fn kad_request(&mut self, conn: ConnId, id: StreamId, peer: &crate::libp2p::PeerId, m: &[u8]) {
        let Ok(msg) = kad::Message::decode(m) else { return self.reset_handler(conn, id) };
        let req = kad::RequestId(self.next_req);
        self.next_req += 1;
        let from_addrs =
            self.conns.get(&conn).and_then(|pc| pc.theirs.as_ref()).map(|t| t.listen_addrs.clone()).unwrap_or_default();
        self.kad_inbound.insert(req, (conn, id));
        self.kad.handle_input(self.now_ms, kad::Input::Request { req, from: peer.clone(), from_addrs, msg });
    }

    fn on_fin(&mut self, conn: ConnId, id: StreamId) {
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        let Some(h) = pc.handlers.remove(&id) else { return };
        match h {
            Handler::IdentifyAsk(r) => {
                pc.handlers.insert(id, Handler::Done);
                let theirs = r.finish().unwrap_or_default();
                self.on_identified(conn, theirs);
            }
            Handler::IdentifyPush(r) => {
                pc.c.close_stream(id);
                if let Ok(update) = r.finish() {
                    let mut t = pc.theirs.clone().unwrap_or_default();
                    t.merge(update);
                    pc.theirs = Some(t);
                }
            }
            Handler::KadOut { req, .. } => {
                self.kad.handle_input(self.now_ms, kad::Input::Failed { req });
            }
            Handler::Done => {}
            // Our stream of bitswap messages stays open for writing: helia half-closes its
            // side of every inbound stream at once.
            Handler::BitswapOut => {
                pc.handlers.insert(id, Handler::BitswapOut);
            }
            other => {
                // The peer is done sending; so are we.
                pc.c.close_stream(id);
                pc.handlers.insert(id, other);
            }
        }
    }

    /// The peer answered identify (or could not): tell the DHT and bitswap, answer `Connect`.
    pub(super) fn on_identified(&mut self, conn: ConnId, theirs: Identify) {
        let now = self.now_ms;
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        let Some(peer) = pc.peer.clone() else { return };
        pc.theirs = Some(theirs.clone());
        let serves_dht = theirs.protocols.iter().any(|p| p == kad::PROTOCOL || p == kad::LAN_PROTOCOL);
        // The best bitswap version the peer lists; a peer that did not identify is assumed to
        // speak the newest.
        let version = if theirs.protocols.is_empty() {
            Some(bitswap::Version::V1_2)
        } else {
            bitswap::PROTOCOLS
                .iter()
                .find(|p| theirs.protocols.iter().any(|q| q == *p))
                .and_then(|p| bitswap::Version::from_protocol(p))
        };
        let summary = PeerSummary {
            peer: peer.clone(),
            addr: pc.addr.clone(),
            agent: theirs.agent_version.clone(),
            protocols: theirs.protocols.clone(),
        };
        if let Some(id) = pc.connect_cmd.take() {
            self.out.push_back(Output::Reply { id, result: Ok(Reply::Connected(summary)) });
        }
        self.out.push_back(Output::Event(Event::Connected { conn, peer: peer.clone() }));
        self.kad.handle_input(
            now,
            kad::Input::PeerIdentified { peer: peer.clone(), addrs: theirs.listen_addrs.clone(), serves_dht },
        );
        if let Some(version) = version {
            self.bitswap.handle_input(now, bitswap::Input::Connected { peer, version });
        }
    }

    pub(super) fn handler_gone(&mut self, conn: ConnId, h: Handler) {
        match h {
            Handler::Opening(Purpose::Identify) | Handler::IdentifyAsk(_) => {
                self.on_identified(conn, Identify::default());
            }
            Handler::Opening(p) => self.purpose_failed(p),
            Handler::KadOut { req, .. } => self.kad.handle_input(self.now_ms, kad::Input::Failed { req }),
            Handler::PingOut(_) => {
                let gone: Vec<_> = self.ping_cmds.keys().filter(|(c, _)| *c == conn).copied().collect();
                for k in gone {
                    if let Some(id) = self.ping_cmds.remove(&k) {
                        self.out.push_back(Output::Reply { id, result: Err("the ping stream closed".into()) });
                    }
                }
            }
            Handler::BitswapOut => {
                if let Some(pc) = self.conns.get_mut(&conn) {
                    pc.bitswap_out = None;
                    pc.bitswap_ready = false;
                }
            }
            _ => {}
        }
    }

    /// Writes queued bitswap messages on our stream to the peer, as far as it takes them.
    pub(super) fn flush_bitswap(&mut self, conn: ConnId) {
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        let Some(id) = pc.bitswap_out.filter(|_| pc.bitswap_ready) else { return };
        // yamux takes what fits its send buffer; a refused write waits for `Writable`.
        while let Some(msg) = pc.bitswap_queue.front() {
            if !pc.c.write(id, msg) {
                break;
            }
            pc.queued_bytes -= msg.len();
            pc.bitswap_queue.pop_front();
        }
    }
}
