//! Three nodes wired together in memory: dials become connections, bytes flow both ways, and the
//! DHT runs over the authenticated sessions.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use proto_core::dht::{self, Addr, CommandId, Key};
use proto_core::identity::Identity;
use proto_core::node::{Command, Config, ConnId, Holds, Input, MimeiMsg, Node, Output, Reply};
use proto_core::rng::Seed;
use proto_core::time::{Mono, Now, UnixMs};
use std::collections::{BTreeMap, VecDeque};

struct Net {
    nodes: Vec<Node>,
    /// (node, conn) ↔ (node, conn)
    links: BTreeMap<(usize, ConnId), (usize, ConnId)>,
    next_accept: u64,
    queue: VecDeque<(usize, Input)>,
    replies: Vec<(usize, CommandId, Result<Reply, String>)>,
    t: u64,
    /// Each node's blocks, keyed by CID bytes.
    blocks: Vec<BTreeMap<Vec<u8>, Vec<u8>>>,
    corrupt: Vec<bool>,
    /// A silent node's sends are dropped (it looks dead to the others).
    silent: Vec<bool>,
    /// The newest version of each MiMei each node holds.
    heads: Vec<BTreeMap<Key, u64>>,
    /// How many heads each node loaded for askers.
    head_loads: Vec<usize>,
}

fn addr(i: usize) -> Addr {
    Addr(vec![i as u8 + 1])
}

impl Net {
    fn new(n: usize) -> Net {
        let now = Now { mono: Mono(0), unix: UnixMs(1_700_000_000_000) };
        let nodes = (0..n)
            .map(|i| {
                Node::new(
                    Config::default(),
                    Identity::from_seed([i as u8 + 1; 32]),
                    vec![addr(i)],
                    Seed::from_u64(i as u64),
                    dht::Restored::default(),
                    now,
                )
            })
            .collect();
        Net {
            nodes,
            links: BTreeMap::new(),
            next_accept: 1,
            queue: VecDeque::new(),
            replies: Vec::new(),
            t: 0,
            blocks: vec![BTreeMap::new(); n],
            corrupt: vec![false; n],
            silent: vec![false; n],
            heads: vec![BTreeMap::new(); n],
            head_loads: vec![0; n],
        }
    }

    fn now(&self) -> Now {
        Now { mono: Mono(self.t), unix: UnixMs(1_700_000_000_000 + self.t) }
    }

    fn run(&mut self) {
        for _ in 0..100_000 {
            for i in 0..self.nodes.len() {
                while let Some(o) = self.nodes[i].poll_output() {
                    self.exec(i, o);
                }
            }
            let Some((i, input)) = self.queue.pop_front() else { return };
            self.t += 1;
            let now = self.now();
            self.nodes[i].handle_input(now, input);
        }
        panic!("did not settle");
    }

    fn exec(&mut self, i: usize, o: Output) {
        match o {
            Output::Dial { conn, addr } => {
                let j = addr.0[0] as usize - 1;
                if j >= self.nodes.len() {
                    return self.queue.push_back((i, Input::Closed { conn }));
                }
                let accepted = ConnId(self.next_accept);
                self.next_accept += 1;
                self.links.insert((i, conn), (j, accepted));
                self.links.insert((j, accepted), (i, conn));
                self.queue.push_back((j, Input::Accepted { conn: accepted, remote: Addr(vec![99]) }));
                self.queue.push_back((i, Input::Connected { conn }));
            }
            Output::Send { .. } if self.silent[i] => {}
            Output::Send { conn, bytes } => {
                if let Some(&(j, c)) = self.links.get(&(i, conn)) {
                    self.queue.push_back((j, Input::Bytes { conn: c, bytes }));
                }
            }
            Output::Close { conn } => {
                if let Some((j, c)) = self.links.remove(&(i, conn)) {
                    self.links.remove(&(j, c));
                    self.queue.push_back((j, Input::Closed { conn: c }));
                }
            }
            Output::Reply { id, result } => self.replies.push((i, id, result.map_err(|e| e.to_string()))),
            Output::LoadBlock { peer, rid, cid } => {
                let mut data = self.blocks[i].get(&cid.to_bytes()).cloned();
                if self.corrupt[i] {
                    if let Some(b) = data.as_mut().and_then(|d| d.first_mut()) {
                        *b ^= 1;
                    }
                }
                self.queue.push_back((i, Input::BlockLoaded { peer, rid, data }));
            }
            Output::LoadHead { peer, mid } => {
                self.head_loads[i] += 1;
                let version = self.heads[i].get(&mid).copied();
                self.queue.push_back((i, Input::HeadLoaded { peer, mid, version }));
            }
            Output::LoadIpfsBlock { cid } => {
                let data = self.blocks[i].get(&cid.to_bytes()).cloned();
                self.queue.push_back((i, Input::IpfsBlockLoaded { cid, data }));
            }
            Output::HasIpfsBlock { cid } => {
                let size = self.blocks[i].get(&cid.to_bytes()).map(Vec::len);
                self.queue.push_back((i, Input::IpfsBlockHeld { cid, have: size.is_some(), size: size.unwrap_or(0) }));
            }
            Output::Persist(_) | Output::Event(_) => {}
        }
    }

    fn command(&mut self, i: usize, id: u64, c: Command) {
        self.queue.push_back((i, Input::Command { id: CommandId(id), command: c }));
        self.run();
    }

    fn reply(&self, i: usize, id: u64) -> &Result<Reply, String> {
        &self
            .replies
            .iter()
            .find(|(n, c, _)| *n == i && c.0 == id)
            .unwrap_or_else(|| panic!("no reply to command {id} on node {i}"))
            .2
    }
}

#[test]
fn dht_runs_over_authenticated_sessions() {
    let mut net = Net::new(3);
    net.command(0, 1, Command::Connect(addr(1)));
    let b = Key::from(Identity::from_seed([2; 32]).node_id());
    assert!(matches!(net.reply(0, 1), Ok(Reply::Connected(p)) if p.id == b), "{:?}", net.reply(0, 1));
    net.command(2, 1, Command::Connect(addr(1)));
    let c = Key::from(Identity::from_seed([3; 32]).node_id());
    net.command(0, 2, Command::Dht(dht::Command::FindPeer(c)));
    match net.reply(0, 2) {
        Ok(Reply::Dht(dht::Reply::Peer(Some(p)))) => assert_eq!((p.id, p.addrs.clone()), (c, vec![addr(2)])),
        other => panic!("findpeer: {other:?}"),
    }
    net.command(0, 3, Command::Peers);
    match net.reply(0, 3) {
        Ok(Reply::Peers(p)) => assert_eq!(p.len(), 2, "connected to b and, for the lookup, c"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_dial_that_reaches_another_id_is_refused() {
    let mut net = Net::new(2);
    // Ask the DHT to talk to "x" at node 1's address: the handshake proves it is someone else.
    let x = Key([0x77; 20]);
    let info = dht::PeerInfo { id: x, addrs: vec![addr(1)] };
    net.command(0, 1, Command::Dht(dht::Command::Bootstrap(vec![info])));
    // The request times out, is retried once, and times out again.
    for _ in 0..3 {
        net.t += 10_000;
        let now = net.now();
        net.nodes[0].handle_timeout(now);
        net.run();
    }
    match net.reply(0, 1) {
        Ok(Reply::Dht(dht::Reply::Bootstrapped { .. })) | Err(_) => {}
        other => panic!("{other:?}"),
    }
    net.command(0, 2, Command::Peers);
    assert!(matches!(net.reply(0, 2), Ok(Reply::Peers(p)) if p.is_empty()), "no connection survives a wrong id");
}

#[test]
fn blocks_come_from_providers_and_bad_bytes_are_refused() {
    use proto_core::unixfs::{file::import_bytes, Profile};
    let mut net = Net::new(4);
    for i in [1, 2, 3] {
        net.command(i, 1, Command::Connect(addr(0)));
    }
    let data: Vec<u8> = (0..600_000u32).map(|x| (x * 7) as u8).collect();
    let (root, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data);
    // Node 2 is honest, node 3 serves corrupted bytes; both provide the root.
    for i in [2, 3] {
        for b in &blocks {
            net.blocks[i].insert(b.cid.to_bytes(), b.bytes.clone());
        }
        net.command(i, 2, Command::Dht(dht::Command::Provide(dht::content_key(&root.cid))));
    }
    net.corrupt[3] = true;
    for (n, b) in blocks.iter().enumerate() {
        let id = 10 + n as u64;
        net.command(1, id, Command::Fetch { root: root.cid.clone(), cid: b.cid.clone() });
        match net.reply(1, id) {
            Ok(Reply::Block(got)) => assert_eq!(got, &b.bytes),
            other => panic!("block {n}: {other:?}"),
        }
    }
    // Nobody provides this one.
    let (other, _) = import_bytes(Profile::UNIXFS_V0_2015, b"nobody has me");
    net.command(1, 99, Command::Fetch { root: other.cid.clone(), cid: other.cid.clone() });
    assert!(matches!(net.reply(1, 99), Err(e) if e.contains("no provider")), "{:?}", net.reply(1, 99));
}

impl Net {
    /// Moves time on in steps, every node handling its timers.
    fn tick(&mut self, steps: usize, ms: u64) {
        for _ in 0..steps {
            self.t += ms;
            let now = self.now();
            for n in &mut self.nodes {
                n.handle_timeout(now);
            }
            self.run();
        }
    }

    fn peers(&mut self, i: usize, id: u64) -> usize {
        self.command(i, id, Command::Peers);
        match self.reply(i, id) {
            Ok(Reply::Peers(p)) => p.len(),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn keepalives_hold_live_connections_and_silent_peers_are_dropped() {
    let mut net = Net::new(2);
    net.command(0, 1, Command::Connect(addr(1)));
    // Ten quiet minutes: keep-alives keep the connection past the 5-minute idle timeout.
    net.tick(20, 30_000);
    assert_eq!(net.peers(0, 2), 1);
    // Node 1 goes silent: node 0 closes the connection once it has heard nothing for 5 minutes.
    net.silent[1] = true;
    net.tick(12, 30_000);
    assert_eq!(net.peers(0, 3), 0);
}

fn id_of(i: usize) -> Key {
    Key::from(Identity::from_seed([i as u8 + 1; 32]).node_id())
}

fn info(i: usize) -> dht::PeerInfo {
    dht::PeerInfo { id: id_of(i), addrs: vec![addr(i)] }
}

fn holders(net: &Net, i: usize, id: u64) -> Vec<Holds> {
    match net.reply(i, id) {
        Ok(Reply::Holders(h)) => h.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn holders_answer_asks_from_the_store_with_their_http_port() {
    let mut net = Net::new(3);
    let mid = Key([0x42; 20]);
    net.heads[1].insert(mid, 3);
    net.command(1, 1, Command::SetHttpPort(Some(8080)));
    assert_eq!(net.reply(1, 1), &Ok(Reply::Done));
    // Node 0 asks 2, 1 and itself (it is not sent an ask); both answer through their store.
    net.command(0, 1, Command::AskHolders { mid, peers: vec![info(2), info(1), info(0)], timeout_ms: 2_000 });
    let want = vec![
        Holds { peer: id_of(2), version: None, http_port: None },
        Holds { peer: id_of(1), version: Some(3), http_port: Some(8080) },
    ];
    assert_eq!(holders(&net, 0, 1), want, "in the order given, as soon as all answered");
    assert_eq!(net.head_loads, vec![0, 1, 1]);
    // Nobody to ask: the reply comes at once.
    net.command(0, 2, Command::AskHolders { mid, peers: vec![info(0)], timeout_ms: 2_000 });
    assert_eq!(holders(&net, 0, 2), vec![]);
}

#[test]
fn an_answer_from_a_peer_not_asked_is_ignored_and_silent_peers_time_out() {
    let mut net = Net::new(3);
    let mid = Key([0x42; 20]);
    net.command(2, 1, Command::Connect(addr(0)));
    net.command(1, 1, Command::Connect(addr(0)));
    // Node 1 does not answer; node 2 answers without being asked.
    net.silent[1] = true;
    net.command(0, 1, Command::AskHolders { mid, peers: vec![info(1)], timeout_ms: 2_000 });
    let holds = Box::new(MimeiMsg::Holds { mid, version: Some(9), http_port: Some(1) });
    net.command(2, 2, Command::SendMimei { to: info(0), msg: holds });
    assert!(net.replies.iter().all(|(n, c, _)| !(*n == 0 && c.0 == 1)), "still waiting for node 1");
    // Asked once more after 500 ms, then given up on at 2 s: nothing heard.
    assert!(net.nodes[0].poll_timeout().is_some_and(|t| t.0 <= net.t + 500));
    net.tick(1, 600);
    assert!(net.replies.iter().all(|(n, c, _)| !(*n == 0 && c.0 == 1)));
    assert_eq!(net.head_loads[1], 2, "node 1 was asked twice");
    net.tick(3, 500);
    assert_eq!(holders(&net, 0, 1), vec![]);
    // A late answer from node 1 changes nothing.
    net.silent[1] = false;
    let holds = Box::new(MimeiMsg::Holds { mid, version: Some(5), http_port: None });
    net.command(1, 2, Command::SendMimei { to: info(0), msg: holds });
    assert_eq!(net.replies.iter().filter(|(n, c, _)| *n == 0 && c.0 == 1).count(), 1);
}
