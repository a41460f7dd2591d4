//! The machine as a whole: kubo's server rules on hand-made requests, and lookups over a small
//! in-process network where every message goes through its wire encoding.

use super::*;
use std::collections::VecDeque;

fn pid(n: u32) -> PeerId {
    let mut k = [0u8; 32];
    k[..4].copy_from_slice(&n.to_be_bytes());
    PeerId::from_ed25519(&k)
}

fn addr(n: u32) -> Vec<u8> {
    // /ip4/10.0.x.y/tcp/4001
    let [_, _, a, b] = n.to_be_bytes();
    vec![0x04, 10, 0, a, b, 0x06, 0x0f, 0xa1]
}

fn drain(k: &mut Kad) -> Vec<Output> {
    std::iter::from_fn(|| k.poll_output()).collect()
}

fn request(k: &mut Kad, from: PeerId, msg: Message) -> Vec<Output> {
    k.handle_input(0, Input::Request { req: RequestId(7), from, from_addrs: vec![addr(999)], msg });
    drain(k)
}

fn server(n_peers: u32) -> Kad {
    let mut k = Kad::new(pid(0), Config::default(), Seed::from_u64(1));
    k.set_local_addrs(vec![addr(0)]);
    for i in 1..=n_peers {
        k.add_address(pid(i), vec![addr(i)], 0);
    }
    k
}

fn respond(outs: &[Output]) -> &Message {
    match outs {
        [Output::Respond { req: RequestId(7), msg }] => msg,
        other => panic!("expected one answer, got {other:?}"),
    }
}

#[test]
fn find_node_answers_the_k_closest_with_addrs() {
    let mut k = server(50);
    let target = pid(1000);
    let outs = request(&mut k, pid(3), Message::new(MessageType::FindNode, target.as_bytes().to_vec()));
    let m = respond(&outs);
    // The 20 closest of peers 1..=50 without the requester, by sha256 XOR distance.
    let t = Key::of(target.as_bytes());
    let mut expect: Vec<u32> = (1..=50).filter(|&i| i != 3).collect();
    expect.sort_by_key(|&i| Key::of(pid(i).as_bytes()).distance(&t));
    let got: Vec<PeerId> = m.closer.iter().map(|p| p.id.clone()).collect();
    assert_eq!(got, expect[..20].iter().map(|&i| pid(i)).collect::<Vec<_>>());
    assert!(m.closer.iter().all(|p| p.addrs.len() == 1));
    assert!(m.key.is_empty(), "kubo leaves the key out of FIND_NODE answers");
    assert_eq!(m.cluster_level, 1);
    let bytes = m.encode();
    assert_eq!(&bytes[..3], [0x08, 0x04, 0x42], "type 4, then closer peers");
    assert_eq!(&bytes[bytes.len() - 2..], [0x50, 0x01], "ends with clusterLevelRaw 1");
}

#[test]
fn find_node_of_our_own_id_names_us() {
    let mut k = server(0);
    let outs = request(&mut k, pid(5), Message::new(MessageType::FindNode, pid(0).as_bytes().to_vec()));
    assert_eq!(respond(&outs).closer, vec![KadPeer { id: pid(0), addrs: vec![addr(0)] }]);
    // A connected non-DHT peer is named when asked for by id.
    k.handle_input(0, Input::PeerIdentified { peer: pid(9), addrs: vec![addr(9)], serves_dht: false });
    let outs = request(&mut k, pid(5), Message::new(MessageType::FindNode, pid(9).as_bytes().to_vec()));
    assert_eq!(respond(&outs).closer, vec![KadPeer { id: pid(9), addrs: vec![addr(9)] }]);
}

#[test]
fn ping_is_echoed_and_client_mode_refuses() {
    let mut k = server(1);
    let ping = Message::decode(&[0x08, 0x05]).unwrap();
    let outs = request(&mut k, pid(1), ping.clone());
    assert_eq!(respond(&outs).encode(), [0x08, 0x05]);
    k.set_mode(Mode::Client);
    assert_eq!(k.mode(), Mode::Client);
    assert_eq!(request(&mut k, pid(1), ping), vec![Output::Reset { req: RequestId(7) }]);
}

#[test]
fn add_provider_kept_only_from_the_sender_with_addrs() {
    let mut k = server(5);
    let key = [&[0x12, 0x20][..], &[9u8; 32]].concat();
    let add = |who: u32, addrs: Vec<Vec<u8>>| {
        let mut m = Message::new(MessageType::AddProvider, key.clone());
        m.providers = vec![KadPeer { id: pid(who), addrs }];
        m
    };
    assert!(request(&mut k, pid(1), add(2, vec![addr(2)])).is_empty(), "not the sender: ignored, no answer");
    assert!(request(&mut k, pid(1), add(1, vec![])).is_empty(), "no addrs: ignored");
    assert_eq!(k.provider_keys(), 0);
    assert!(request(&mut k, pid(1), add(1, vec![addr(1)])).is_empty());
    assert_eq!(k.provider_keys(), 1);
    let outs = request(&mut k, pid(4), Message::new(MessageType::GetProviders, key.clone()));
    let m = respond(&outs);
    assert_eq!(m.key, key, "the key is echoed");
    // The requester connected with addr(999) then; pid(1)'s addresses come from the book.
    assert_eq!(m.providers, vec![KadPeer { id: pid(1), addrs: vec![addr(999)] }]);
    assert!(!m.closer.is_empty() && m.closer.iter().all(|p| p.id != pid(4)));
    // Keys of 0 or 81 bytes are refused like kubo does.
    for bad in [vec![], vec![1u8; 81]] {
        let outs = request(&mut k, pid(4), Message::new(MessageType::GetProviders, bad));
        assert_eq!(outs, vec![Output::Reset { req: RequestId(7) }]);
    }
}

#[test]
fn values_only_for_valid_pk_and_ipns_records() {
    let mut k = server(3);
    let mut pb = vec![0x08, 0x01, 0x12, 0x20];
    pb.extend([5u8; 32]);
    let key = [&b"/pk/"[..], PeerId::from_ed25519(&[5u8; 32]).as_bytes()].concat();
    let rec = Record { key: key.clone(), value: pb, time_received: String::new() };
    let mut put = Message::new(MessageType::PutValue, key.clone());
    put.record = Some(rec.clone());
    assert_eq!(respond(&request(&mut k, pid(1), put.clone())), &put, "PUT_VALUE is echoed");
    let outs = request(&mut k, pid(1), Message::new(MessageType::GetValue, key.clone()));
    assert_eq!(respond(&outs).record.as_ref(), Some(&rec));
    // A value that is not that key, a key mismatch, another namespace: reset.
    let mut bad = put.clone();
    bad.record = Some(Record { value: vec![1, 2], ..rec.clone() });
    let mut wrong_key = put.clone();
    wrong_key.key = b"/pk/other".to_vec();
    let mut other_ns = put.clone();
    other_ns.key = b"/v/x".to_vec();
    other_ns.record = Some(Record { key: b"/v/x".to_vec(), ..rec });
    for m in [bad, wrong_key, other_ns, Message::new(MessageType::PutValue, key)] {
        assert_eq!(request(&mut k, pid(1), m), vec![Output::Reset { req: RequestId(7) }]);
    }
}

#[test]
fn lookup_check_before_joining_the_table() {
    let mut k = server(0);
    k.handle_input(0, Input::PeerIdentified { peer: pid(1), addrs: vec![addr(1)], serves_dht: true });
    let outs = drain(&mut k);
    let [Output::Send { req, to, msg, .. }] = &outs[..] else { panic!("{outs:?}") };
    assert_eq!((to, msg.typ, &msg.key), (&pid(1), MessageType::FindNode, &pid(1).as_bytes().to_vec()));
    assert_eq!(msg.encode()[..2], [0x08, 0x04]);
    let mut answer = Message::new(MessageType::FindNode, Vec::new());
    answer.closer = vec![KadPeer { id: pid(1), addrs: vec![addr(1)] }];
    k.handle_input(1, Input::Response { req: *req, msg: answer });
    assert_eq!(k.table_len(), 1);
    // A peer whose check names nobody stays out; one that stops serving leaves.
    k.handle_input(2, Input::PeerIdentified { peer: pid(2), addrs: vec![addr(2)], serves_dht: true });
    let Some(Output::Send { req, .. }) = k.poll_output() else { panic!() };
    k.handle_input(3, Input::Response { req, msg: Message::new(MessageType::FindNode, Vec::new()) });
    assert_eq!(k.table_len(), 1);
    k.handle_input(4, Input::PeerIdentified { peer: pid(1), addrs: vec![], serves_dht: false });
    assert_eq!(k.table_len(), 0);
}

#[test]
fn requests_time_out_in_the_machine_and_failing_peers_leave() {
    let cfg = Config { refresh_interval_ms: 0, lookup_retries: 0, ..Config::default() };
    let mut k = Kad::new(pid(0), cfg, Seed::from_u64(1));
    k.add_address(pid(1), vec![addr(1)], 0);
    assert_eq!(k.poll_timeout(), Some(3_600_000), "only the sweep is due");
    let q = k.command(0, Command::FindNode(pid(77)));
    let sends = drain(&mut k);
    assert_eq!(sends.len(), 1);
    assert_eq!(k.poll_timeout(), Some(10_000), "the request deadline");
    k.handle_timeout(10_000);
    let outs = drain(&mut k);
    let [Output::Done { query, result }] = &outs[..] else { panic!("{outs:?}") };
    assert_eq!(*query, q);
    assert_eq!(result.found, Found::Peers(vec![]));
    assert_eq!((result.stats.rpcs, result.stats.failures), (1, 1));
    assert_eq!(k.table_len(), 1, "one failure is tolerated");
    k.command(20_000, Command::FindNode(pid(78)));
    let Some(Output::Send { req, .. }) = k.poll_output() else { panic!() };
    k.handle_input(20_001, Input::Failed { req });
    assert_eq!(k.table_len(), 0, "the second drops it");
    assert_eq!(drain(&mut k).len(), 1, "that query is done");
    // With nobody left, a query ends at once.
    let q = k.command(30_000, Command::FindNode(pid(79)));
    assert_eq!(
        drain(&mut k),
        vec![Output::Done {
            query: q,
            result: QueryResult { found: Found::Error(QueryError::NoPeers), stats: QueryStats::default() }
        }]
    );
}

#[test]
fn a_flood_of_closer_peers_is_capped() {
    let mut k = server(1);
    k.command(0, Command::FindNode(pid(500)));
    let Some(Output::Send { req, .. }) = k.poll_output() else { panic!() };
    let mut answer = Message::new(MessageType::FindNode, Vec::new());
    answer.closer = (0..10_000u32).map(|i| KadPeer { id: pid(10_000 + i), addrs: vec![addr(i)] }).collect();
    let bytes = answer.encode();
    assert!(bytes.len() < MAX_MESSAGE);
    k.handle_input(1, Input::Response { req, msg: Message::decode(&bytes).unwrap() });
    let sends = drain(&mut k).into_iter().filter(|o| matches!(o, Output::Send { .. })).count();
    assert_eq!(sends, 10, "alpha requests out, no more");
    // A wrong answer type counts as a failure (and the peer is asked once more).
    let mut k = server(1);
    k.command(0, Command::FindNode(pid(500)));
    for _ in 0..2 {
        let Some(Output::Send { req, to, .. }) = k.poll_output() else { panic!() };
        assert_eq!(to, pid(1));
        k.handle_input(1, Input::Response { req, msg: Message::new(MessageType::Ping, vec![]) });
    }
    let outs = drain(&mut k);
    assert!(matches!(
        &outs[..],
        [Output::Done { result: QueryResult { stats: QueryStats { failures: 2, rpcs: 2, .. }, .. }, .. }]
    ));
}

/// Kad machines passing encoded messages to each other at once; `down` nodes fail every send.
struct Net {
    nodes: Vec<Kad>,
    down: Vec<bool>,
    /// Pairs that have met: identify ran both ways.
    met: std::collections::BTreeSet<(usize, usize)>,
    done: Vec<(usize, QueryId, QueryResult)>,
    now: u64,
}

impl Net {
    fn new(n: u32) -> Net {
        let cfg = Config { refresh_interval_ms: 0, ..Config::default() };
        let mut nodes = Vec::new();
        for i in 0..n {
            let mut k = Kad::new(pid(i), cfg.clone(), Seed::from_u64(u64::from(i)));
            k.set_local_addrs(vec![addr(i)]);
            nodes.push(k);
        }
        Net { down: vec![false; n as usize], met: Default::default(), nodes, done: Vec::new(), now: 0 }
    }

    fn index(id: &PeerId, n: usize) -> Option<usize> {
        (0..n as u32).find(|&i| &pid(i) == id).map(|i| i as usize)
    }

    fn run(&mut self) {
        let mut queue: VecDeque<(usize, Output)> = VecDeque::new();
        loop {
            for (i, k) in self.nodes.iter_mut().enumerate() {
                while let Some(o) = k.poll_output() {
                    queue.push_back((i, o));
                }
            }
            let Some((from, out)) = queue.pop_front() else { return };
            self.now += 1;
            match out {
                Output::Send { req, to, msg, expect_reply, .. } => {
                    let dest = Net::index(&to, self.nodes.len()).filter(|&d| !self.down[d]);
                    let Some(dest) = dest else {
                        self.nodes[from].handle_input(self.now, Input::Failed { req });
                        continue;
                    };
                    if self.met.insert((from.min(dest), from.max(dest))) {
                        for (a, b) in [(from, dest), (dest, from)] {
                            let ident = Input::PeerIdentified {
                                peer: pid(b as u32),
                                addrs: vec![addr(b as u32)],
                                serves_dht: true,
                            };
                            self.nodes[a].handle_input(self.now, ident);
                        }
                    }
                    let msg = Message::decode(&msg.encode()).unwrap();
                    let sender = pid(from as u32);
                    let input =
                        Input::Request { req: RequestId(0), from: sender, from_addrs: vec![addr(from as u32)], msg };
                    self.nodes[dest].handle_input(self.now, input);
                    let mut answer = None;
                    while let Some(o) = self.nodes[dest].poll_output() {
                        match o {
                            Output::Respond { msg, .. } => answer = Some(Ok(msg)),
                            Output::Reset { .. } => answer = Some(Err(())),
                            other => queue.push_back((dest, other)),
                        }
                    }
                    if expect_reply {
                        let input = match answer {
                            Some(Ok(msg)) => Input::Response { req, msg: Message::decode(&msg.encode()).unwrap() },
                            _ => Input::Failed { req },
                        };
                        self.nodes[from].handle_input(self.now, input);
                    }
                }
                Output::Done { query, result } => self.done.push((from, query, result)),
                Output::Respond { .. } | Output::Reset { .. } => {}
            }
        }
    }

    /// Every node joins through node 0 and bootstraps.
    fn join(&mut self) {
        for i in 1..self.nodes.len() {
            let now = self.now;
            self.nodes[i].add_address(pid(0), vec![addr(0)], now);
            self.nodes[i].command(now, Command::Bootstrap);
            self.run();
        }
    }

    fn result(&self, node: usize, q: QueryId) -> &QueryResult {
        &self.done.iter().find(|(n, id, _)| *n == node && *id == q).unwrap().2
    }
}

#[test]
fn lookups_find_the_true_closest_and_providers() {
    let mut net = Net::new(60);
    net.join();
    let n = net.nodes.len() as u32;
    for t in 0..10u32 {
        let target = pid(5_000 + t);
        let tk = Key::of(target.as_bytes());
        let mut ids: Vec<u32> = (0..n).collect();
        ids.sort_by_key(|&i| Key::of(pid(i).as_bytes()).distance(&tk));
        let from = (t as usize * 7) % n as usize;
        let now = net.now;
        let q = net.nodes[from].command(now, Command::FindNode(target));
        net.run();
        let Found::Peers(peers) = &net.result(from, q).found else { panic!("{:?}", net.result(from, q)) };
        // The node never lists itself; the rest are the true closest, in order.
        let expect: Vec<PeerId> = ids.iter().filter(|&&i| i as usize != from).take(3).map(|&i| pid(i)).collect();
        assert_eq!(peers[..3].iter().map(|p| p.id.clone()).collect::<Vec<_>>(), expect);
    }
    // Provide from node 5; find from node 40 with node 5's announcement and addresses.
    let key = [&[0x12, 0x20][..], &[0xaa; 32]].concat();
    let now = net.now;
    let q = net.nodes[5].command(now, Command::Provide { key: key.clone(), addrs: vec![addr(5)] });
    net.run();
    assert!(matches!(net.result(5, q).found, Found::Provided(20)));
    let q = net.nodes[40].command(net.now, Command::GetProviders { key: key.clone(), limit: 1 });
    net.run();
    assert_eq!(net.result(40, q).found, Found::Providers(vec![KadPeer { id: pid(5), addrs: vec![addr(5)] }]));
    // FindPeer of node 33, even with node 33's table neighbours down.
    net.down[12] = true;
    let q = net.nodes[50].command(net.now, Command::FindPeer(pid(33)));
    net.run();
    assert_eq!(net.result(50, q).found, Found::Peer(Some(KadPeer { id: pid(33), addrs: vec![addr(33)] })));
    // A /pk/ record put from node 2 is read from node 44.
    let mut pb = vec![0x08, 0x01, 0x12, 0x20];
    pb.extend([3u8; 32]);
    let rec = Record {
        key: [&b"/pk/"[..], PeerId::from_ed25519(&[3u8; 32]).as_bytes()].concat(),
        value: pb,
        time_received: String::new(),
    };
    let q = net.nodes[2].command(net.now, Command::PutValue(rec.clone()));
    net.run();
    let Found::Stored(n) = net.result(2, q).found else { panic!() };
    assert!(n >= 15, "stored on {n}");
    let q = net.nodes[44].command(net.now, Command::GetValue(rec.key.clone()));
    net.run();
    assert_eq!(net.result(44, q).found, Found::Value(Some(rec)));
}
