//! The host's commands, and what the DHT and bitswap machines ask of the connections: kad
//! requests go out on new streams (dialing the peer first when needed), answers go back on the
//! stream the request came on, bitswap messages go on our one stream to each peer, and the
//! results answer the commands waiting for them.

use super::streams::Purpose;
use super::{Command, Host, Output, PeerSummary, Reply};
use crate::cid::Cid;
use crate::dht::CommandId;
use crate::libp2p::pb::length_prefixed;
use crate::libp2p::{bitswap, kad, PeerId};
use crate::maddr::Multiaddr;
use crate::node::ConnId;

/// What a kad query answers.
pub(crate) enum KadAsk {
    FindPeer(PeerId),
    Providers,
    Provide,
    /// Providers for a bitswap session that found no connected peer with the block.
    ForBitswap(bitswap::SessionId),
}

/// One bitswap session per root: the blocks of one file or tree share their peers.
fn session_of(root: &Cid) -> bitswap::SessionId {
    let d = root.hash().digest();
    let mut b = [0u8; 8];
    for (i, x) in d.iter().take(8).enumerate() {
        b[i] = *x;
    }
    bitswap::SessionId(u64::from_le_bytes(b))
}

fn addrs_of(bytes: &[Vec<u8>]) -> Vec<Multiaddr> {
    bytes.iter().filter_map(|b| Multiaddr::from_bytes(b).ok()).collect()
}

impl Host {
    pub fn command(&mut self, now_ms: u64, id: CommandId, command: Command) {
        self.now_ms = self.now_ms.max(now_ms);
        match command {
            Command::Connect(addr) => self.connect(id, addr),
            Command::Disconnect(peer) => match self.peers.get(&peer).copied() {
                Some(conn) => {
                    self.close_conn(conn, "disconnected on request");
                    self.reply(id, Ok(Reply::Disconnected));
                }
                None => self.reply(id, Err("not connected to that peer".into())),
            },
            Command::Peers => {
                let peers = self.peers.values().filter_map(|c| self.summary(*c)).collect();
                self.reply(id, Ok(Reply::Peers(peers)));
            }
            Command::Ping(peer) => match self.peers.get(&peer).copied() {
                Some(conn) => self.open(conn, &[crate::libp2p::ping::PROTOCOL], Purpose::Ping(id)),
                None => self.reply(id, Err("not connected to that peer".into())),
            },
            Command::FindPeer(peer) => {
                if let Some(addrs) = self.connected_addrs(&peer) {
                    return self.reply(id, Ok(Reply::Peer { peer, addrs }));
                }
                let q = self.kad.command(self.now_ms, kad::Command::FindPeer(peer.clone()));
                self.kad_cmds.insert(q, (Some(id), KadAsk::FindPeer(peer)));
            }
            Command::FindProviders { key, limit } => {
                let q = self.kad.command(self.now_ms, kad::Command::GetProviders { key, limit });
                self.kad_cmds.insert(q, (Some(id), KadAsk::Providers));
            }
            Command::Provide { key } => {
                let addrs = self.listen.iter().map(|a| a.as_bytes().to_vec()).collect();
                let q = self.kad.command(self.now_ms, kad::Command::Provide { key, addrs });
                self.kad_cmds.insert(q, (Some(id), KadAsk::Provide));
            }
            Command::Fetch { root, cid } => {
                self.fetch_cmds.entry(cid.clone()).or_default().push(id);
                let session = session_of(&root);
                self.bitswap.want(self.now_ms, session, vec![cid]);
            }
        }
        self.drain();
    }

    fn reply(&mut self, id: CommandId, result: Result<Reply, String>) {
        self.out.push_back(Output::Reply { id, result });
    }

    fn connect(&mut self, id: CommandId, addr: Multiaddr) {
        let peer = match addr.p2p() {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => return self.reply(id, Err(format!("cannot connect: {e}"))),
            None => None,
        };
        if let Some(conn) = peer.as_ref().and_then(|p| self.peers.get(p)).copied() {
            if let Some(s) = self.summary(conn).filter(|s| s.agent.is_some() || !s.protocols.is_empty()) {
                return self.reply(id, Ok(Reply::Connected(s)));
            }
        }
        match self.dial(&addr, peer) {
            Ok(conn) => {
                if let Some(pc) = self.conns.get_mut(&conn) {
                    pc.connect_cmd = Some(id);
                }
            }
            Err(e) => self.reply(id, Err(format!("cannot connect: {e}"))),
        }
    }

    fn summary(&self, conn: ConnId) -> Option<PeerSummary> {
        let pc = self.conns.get(&conn)?;
        Some(PeerSummary {
            peer: pc.peer.clone()?,
            addr: pc.addr.clone(),
            agent: pc.theirs.as_ref().and_then(|t| t.agent_version.clone()),
            protocols: pc.theirs.as_ref().map(|t| t.protocols.clone()).unwrap_or_default(),
        })
    }

    fn connected_addrs(&self, peer: &PeerId) -> Option<Vec<Multiaddr>> {
        let pc = self.conns.get(self.peers.get(peer)?)?;
        let mut addrs = pc.theirs.as_ref().map(|t| addrs_of(&t.listen_addrs)).unwrap_or_default();
        if addrs.is_empty() {
            addrs.extend(pc.addr.clone());
        }
        Some(addrs)
    }

    /// Moves the DHT's and bitswap's outputs to the connections and the commands.
    pub(super) fn drain(&mut self) {
        loop {
            if let Some(o) = self.kad.poll_output() {
                self.on_kad(o);
                continue;
            }
            if let Some(o) = self.bitswap.poll_output() {
                self.on_bitswap(o);
                continue;
            }
            return;
        }
    }

    fn on_kad(&mut self, o: kad::Output) {
        match o {
            kad::Output::Send { req, to, addrs, msg, expect_reply } => {
                if let Some(conn) = self.peers.get(&to).copied() {
                    let ready = self.conns.get(&conn).is_some_and(|pc| pc.c.is_ready());
                    if ready {
                        return self.open_kad(conn, req, msg, expect_reply);
                    }
                    if let Some(pc) = self.conns.get_mut(&conn) {
                        return pc.kad_waiting.push((req, msg, expect_reply));
                    }
                }
                let dialable = addrs_of(&addrs).into_iter().find(|a| a.to_host_port().is_some());
                match dialable.map(|a| self.dial(&a, Some(to))) {
                    Some(Ok(conn)) => {
                        if let Some(pc) = self.conns.get_mut(&conn) {
                            pc.kad_waiting.push((req, msg, expect_reply));
                        }
                    }
                    _ => self.kad.handle_input(self.now_ms, kad::Input::Failed { req }),
                }
            }
            kad::Output::Respond { req, msg } => {
                let Some((conn, id)) = self.kad_inbound.remove(&req) else { return };
                if let Some(pc) = self.conns.get_mut(&conn) {
                    pc.c.write(id, &length_prefixed(&msg.encode()));
                }
                self.pump(conn);
            }
            kad::Output::Reset { req } => {
                let Some((conn, id)) = self.kad_inbound.remove(&req) else { return };
                if let Some(pc) = self.conns.get_mut(&conn) {
                    pc.c.reset_stream(id);
                    pc.handlers.remove(&id);
                }
                self.pump(conn);
            }
            kad::Output::Done { query, result } => {
                let Some((cmd, ask)) = self.kad_cmds.remove(&query) else { return };
                self.on_kad_done(cmd, ask, result);
            }
        }
    }

    fn on_kad_done(&mut self, cmd: Option<CommandId>, ask: KadAsk, result: kad::QueryResult) {
        use kad::Found;
        let providers = match &result.found {
            Found::Providers(p) => p.clone(),
            _ => Vec::new(),
        };
        let reply = match (ask, result.found) {
            (_, Found::Error(e)) if cmd.is_some() => Err(format!("the IPFS DHT: {e:?}")),
            (KadAsk::FindPeer(peer), found) => {
                let hit = match found {
                    Found::Peer(p) => p,
                    Found::Peers(ps) => ps.into_iter().find(|p| p.id == peer),
                    _ => None,
                };
                match hit {
                    Some(p) => Ok(Reply::Peer { peer, addrs: addrs_of(&p.addrs) }),
                    None => Err(format!("peer {peer} was not found on the IPFS DHT")),
                }
            }
            (KadAsk::Providers, _) => {
                Ok(Reply::Providers(providers.iter().map(|p| (p.id.clone(), addrs_of(&p.addrs))).collect()))
            }
            (KadAsk::Provide, Found::Provided(n)) => Ok(Reply::Provided { peers: n }),
            (KadAsk::Provide, _) => Ok(Reply::Provided { peers: 0 }),
            (KadAsk::ForBitswap(session), _) => {
                let mut peers = Vec::new();
                for p in &providers {
                    if p.id == self.peer_id() {
                        continue;
                    }
                    peers.push(p.id.clone());
                    if !self.peers.contains_key(&p.id) {
                        if let Some(a) = addrs_of(&p.addrs).into_iter().find(|a| a.to_host_port().is_some()) {
                            let _ = self.dial(&a, Some(p.id.clone()));
                        }
                    }
                }
                self.bitswap.handle_input(self.now_ms, bitswap::Input::Providers { session, peers });
                return;
            }
        };
        if let Some(id) = cmd {
            self.reply(id, reply);
        }
    }

    fn on_bitswap(&mut self, o: bitswap::Output) {
        match o {
            bitswap::Output::Send { to, msg } => self.send_bitswap(&to, &msg),
            bitswap::Output::Load { cid } => self.out.push_back(Output::Load { cid }),
            bitswap::Output::Has { cid } => self.out.push_back(Output::Has { cid }),
            bitswap::Output::Received { cid, data, .. } => self.answer_fetch(&cid, Ok(data)),
            bitswap::Output::FindProviders { session, cid } => {
                let key = cid.hash().to_bytes();
                let q = self.kad.command(self.now_ms, kad::Command::GetProviders { key, limit: 20 });
                self.kad_cmds.insert(q, (None, KadAsk::ForBitswap(session)));
            }
            bitswap::Output::Failed { cid, why, .. } => self.answer_fetch(&cid, Err(why)),
        }
    }

    fn answer_fetch(&mut self, cid: &Cid, result: Result<Vec<u8>, String>) {
        for id in self.fetch_cmds.remove(cid).unwrap_or_default() {
            self.reply(id, result.clone().map(Reply::Block));
        }
    }

    fn send_bitswap(&mut self, to: &PeerId, msg: &bitswap::Message) {
        let Some(conn) = self.peers.get(to).copied() else { return };
        let max = self.cfg.max_bitswap_queue;
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        let bytes = length_prefixed(&msg.encode());
        if pc.queued_bytes + bytes.len() > max {
            return; // the peer is not reading; it asks again
        }
        pc.queued_bytes += bytes.len();
        pc.bitswap_queue.push_back(bytes);
        let opening = pc.handlers.values().any(|h| matches!(h, super::streams::Handler::Opening(Purpose::Bitswap)));
        if pc.bitswap_out.is_none() && !opening {
            self.open(conn, &bitswap::PROTOCOLS, Purpose::Bitswap);
        } else {
            self.flush_bitswap(conn);
        }
        self.pump(conn);
    }
}
