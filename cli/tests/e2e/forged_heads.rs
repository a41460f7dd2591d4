//! A hostile peer on the nodes' own network: it dials a real node (B) over TCP, completes the
//! session handshake with its own identity and then offers forged head records for a user's
//! MiMei — pushed with `PutValue`, and served as its answer to B's `GetValue` while B runs
//! `mimei sync` and answers `MiMeiShow` and `DhtGetValue`. The forgeries: the hostile key's own signature with
//! no delegation, the user's real delegation to another node (A) used by the hostile key, that
//! delegation rewritten to name the hostile node, a delegation the user once gave the hostile
//! node with its window stretched, and the same delegation as signed (expired). Each fails
//! `Record::verify` — the check B runs — for its own reason; B answers the push with
//! `Stored { ok: false }`, keeps serving the genuine record, and its view of the MiMei stays the
//! genuine head synced from A. B names no reason to the peer or in its output. A record made
//! with a delegation the user really gave the hostile node, still valid, is taken over the same
//! paths: what refused the forgeries was their checks.

use crate::harness::*;
use proto_core::dht::delegation::{Delegation, DelegationError};
use proto_core::dht::record::RecordError;
use proto_core::dht::{Addr, Key, Msg, Packet, Record};
use proto_core::frame::{self, FrameReader};
use proto_core::id::NodeId;
use proto_core::identity::Identity;
use proto_core::maddr::Multiaddr;
use proto_core::mimei::{read_head, Head, HeadSigner, Mid, Mimei};
use proto_core::rng::Seed;
use proto_core::session::{Ciphers, Session, Suite};
use proto_core::wire::{Envelope, Proto};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HOUR: u64 = 3600 * 1000;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn field(out: &str, name: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {out}")).trim().to_string()
}

/// The sending half of the hostile peer's session: frames go out in the order they are
/// encrypted (the session's nonces count them).
struct Wire {
    stream: TcpStream,
    session: Session,
}

impl Wire {
    fn send(&mut self, addrs: &[Addr], msg: Msg) -> std::io::Result<()> {
        let plain = Envelope::encode(Proto::Dht, Packet { addrs: addrs.to_vec(), msg }.encode());
        let frame = self.session.encrypt_frame(&plain).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.stream.write_all(&frame)
    }
}

/// The hostile peer: an identity of its own, one session with the victim, a thread that
/// answers the victim's requests (`GetValue` for `target` with whatever `serves` holds) and
/// hands every answer to the test.
struct Hostile {
    id: Identity,
    addrs: Vec<Addr>,
    wire: Arc<Mutex<Wire>>,
    answers: mpsc::Receiver<Msg>,
    serves: Arc<Mutex<Option<Record>>>,
    /// How many times the victim asked it for `target`.
    asked: Arc<AtomicUsize>,
    next_rid: u64,
}

/// The next whole frame from a blocking stream (the handshake's).
fn read_frame(stream: &mut TcpStream, reader: &mut FrameReader) -> Vec<u8> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(f) = reader.next_frame().unwrap() {
            return f;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the node closed the connection during the handshake");
        reader.push(&buf[..n]);
    }
}

impl Hostile {
    /// Dials the node at `peer` (its `SwarmLocal` multiaddr), expecting `node_id`.
    fn connect(peer: &str, node_id: &str, target: Key) -> Hostile {
        let id = Identity::from_seed([0x66; 32]);
        let (host, port) = Multiaddr::parse(peer).unwrap().to_host_port().unwrap();
        let mut stream = TcpStream::connect((host.as_str(), port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let expected = NodeId::parse(node_id).unwrap();
        let (mut session, first) =
            Session::initiator(&id, Seed([7; 32]), Some(expected), Suite::ChaChaPoly, &Ciphers::default()).unwrap();
        stream.write_all(&frame::encode(&first)).unwrap();
        let mut reader = FrameReader::default();
        while !session.is_established() {
            let f = read_frame(&mut stream, &mut reader);
            if let Some(reply) = session.read_handshake(&f).unwrap() {
                stream.write_all(&frame::encode(&reply)).unwrap();
            }
        }
        assert_eq!(session.remote(), Some(expected));
        stream.set_read_timeout(None).unwrap();
        // The address it names takes no connections (the port is closed again): the victim
        // reaches it only over the session it opened.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let addrs = vec![Addr(Multiaddr::from_socket(closed).as_bytes().to_vec())];
        let wire = Arc::new(Mutex::new(Wire { stream: stream.try_clone().unwrap(), session }));
        let (tx, answers) = mpsc::channel();
        let serves = Arc::new(Mutex::new(None::<Record>));
        let asked = Arc::new(AtomicUsize::new(0));
        let (w, s, n, a) = (wire.clone(), serves.clone(), asked.clone(), addrs.clone());
        std::thread::spawn(move || Hostile::serve(stream, reader, w, a, target, s, n, tx));
        Hostile { id, addrs, wire, answers, serves, asked, next_rid: 1 }
    }

    /// The reading side, until the connection closes.
    #[allow(clippy::too_many_arguments)]
    fn serve(
        mut stream: TcpStream,
        mut reader: FrameReader,
        wire: Arc<Mutex<Wire>>,
        addrs: Vec<Addr>,
        target: Key,
        serves: Arc<Mutex<Option<Record>>>,
        asked: Arc<AtomicUsize>,
        answers: mpsc::Sender<Msg>,
    ) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while let Ok(Some(f)) = reader.next_frame() {
                let Ok(plain) = wire.lock().unwrap().session.decrypt(&f) else { return };
                let env = match Envelope::decode(&plain) {
                    Ok(env) if env.proto == Proto::Dht as u8 => env,
                    _ => continue, // keep-alives and other protocols
                };
                let Some(packet) = Packet::decode(&env.body) else { continue };
                let reply = match packet.msg {
                    Msg::Ping { rid } => Msg::Pong { rid },
                    Msg::FindNode { rid, .. } => Msg::Nodes { rid, closer: vec![] },
                    Msg::GetProviders { rid, .. } => Msg::Providers { rid, providers: vec![], closer: vec![] },
                    Msg::AddProvider { rid, .. } | Msg::PutValue { rid, .. } => Msg::Stored { rid, ok: true },
                    Msg::GetValue { rid, key } => {
                        let record = if key == target {
                            asked.fetch_add(1, Ordering::SeqCst);
                            serves.lock().unwrap().clone()
                        } else {
                            None
                        };
                        Msg::Value { rid, record, closer: vec![] }
                    }
                    answer => {
                        let _ = answers.send(answer);
                        continue;
                    }
                };
                if wire.lock().unwrap().send(&addrs, reply).is_err() {
                    return;
                }
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => reader.push(&buf[..n]),
            }
        }
    }

    /// Sends a request and waits for the victim's answer to it.
    fn ask(&mut self, make: impl FnOnce(u64) -> Msg) -> Msg {
        let rid = self.next_rid;
        self.next_rid += 1;
        self.wire.lock().unwrap().send(&self.addrs, make(rid)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.answers.recv_timeout(left) {
                Ok(m) if m.rid() == rid => return m,
                Ok(_) => continue,
                Err(_) => panic!("no answer to request {rid} within 5 s"),
            }
        }
    }

    /// `PutValue`: whether the victim stored the record.
    fn put(&mut self, record: &Record) -> bool {
        let record = record.clone();
        match self.ask(|rid| Msg::PutValue { rid, record }) {
            Msg::Stored { ok, .. } => ok,
            other => panic!("a PutValue answered with {other:?}"),
        }
    }

    /// `GetValue`: the record the victim serves for `key`.
    fn get(&mut self, key: Key) -> Option<Record> {
        match self.ask(|rid| Msg::GetValue { rid, key }) {
            Msg::Value { record, .. } => record,
            other => panic!("a GetValue answered with {other:?}"),
        }
    }

    fn shutdown(self) {
        let _ = self.wire.lock().unwrap().stream.shutdown(std::net::Shutdown::Both);
    }
}

/// A node's public key (`GetVar nodepk`).
fn node_pk(n: &Node) -> [u8; 32] {
    let (_, body) = api(&n.addr(), "GetVar", r#"["nodepk"]"#, None);
    let v: Value = serde_json::from_str(&body).unwrap();
    let b = proto_core::multibase::base64url_decode(v["result"].as_str().unwrap()).unwrap();
    <[u8; 32]>::try_from(b).unwrap()
}

/// Whether `n`'s routing table holds the node `id`.
fn knows(n: &Node, id: &str) -> bool {
    let (_, body) = api(&n.addr(), "SwarmAddrs", "[]", None);
    body.contains(id)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < Duration::from_secs(5), "{what} did not happen within 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// B's own copy of the MiMei's versions (`GetVar mimeiversions`) and what `MiMeiShow` reads on
/// the network, both as `{ver: cid}` lists.
fn views(b: &Node, mid: &str) -> (Value, Value) {
    let (status, body) = api(&b.addr(), "GetVar", &format!(r#"["mimeiversions", "{mid}"]"#), None);
    assert_eq!(status, 200, "{body}");
    let local: Value = serde_json::from_str(&body).unwrap();
    let (status, body) = api(&b.addr(), "MiMeiShow", &format!(r#"["", "{mid}"]"#), None);
    assert_eq!(status, 200, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    (local["result"]["versions"].clone(), shown["result"]["net"]["versions"].clone())
}

#[test]
fn forged_heads_from_a_hostile_peer_are_refused_over_the_network() {
    let a = Node::start();
    let b = Node::start_with(&[peer_addr(&a)]);
    wait_until("A learning of B", || knows(&a, &b.id));

    // User U (a key and passport of their own) makes a MiMei on A, delegates to A, publishes.
    let work = tempfile::tempdir().unwrap();
    let p = |f: &str| work.path().join(f).to_str().unwrap().to_string();
    user_files(&a, work.path(), "u");
    a.ok(&["lpki", "reqservice", "-c", &p("u.cert")]);
    let user = proto_core::ppt::read_key(&std::fs::read_to_string(p("u.key")).unwrap()).unwrap();
    let mid = field(&a.ok(&["mimei", "create", "-m", "heads", "-p", &p("u.ppt")]), "mid= ");
    std::fs::write(p("v1.txt"), b"the genuine version one\n").unwrap();
    a.ok(&["mimei", "add", &mid, &p("v1.txt"), "-p", &p("u.ppt")]);
    a.ok(&["lpki", "delegate", "-k", &p("u.key")]);
    assert!(a.ok(&["mimei", "publish", &mid, "-p", &p("u.ppt")]).ends_with("MiMeiPublish ok\n"));

    // B syncs the genuine head from A.
    assert!(b.ok(&["mimei", "sync", &mid]).ends_with("mimei sync ok\n"));
    let (genuine_local, genuine_net) = views(&b, &mid);
    assert_eq!(genuine_local.as_array().map(Vec::len), Some(1), "{genuine_local}");
    assert_eq!(genuine_net, genuine_local);
    assert_eq!(b.ok(&["mimei", "get", &mid]), "the genuine version one\n");

    // The hostile peer H dials B, completes the handshake and joins B's routing table.
    let key = Mid::parse(&mid).unwrap().0;
    let mut h = Hostile::connect(&peer_addr(&b), &b.id, key);
    assert!(matches!(h.ask(|rid| Msg::Ping { rid }), Msg::Pong { .. }));
    wait_until("B learning of H", || knows(&b, &h.id.node_id().to_string()));

    // What H harvests from B: the genuine head record, signed by A with U's delegation to A.
    let genuine = h.get(key).expect("B serves the head A stored on it");
    let now = now_ms();
    assert_eq!(genuine.verify(now), Ok(()));
    assert_eq!(genuine.author, user.public_key());
    let to_a = *genuine.delegation.clone().expect("A signs for U with a delegation");
    assert_eq!((to_a.user, to_a.node), (user.public_key(), node_pk(&a)));
    let head: Head = read_head(&genuine, &Mid(key), now).unwrap();

    // The forged head: the genuine one with a second version, published as a newer record.
    let mut forged_head = head.clone();
    let v1 = forged_head.versions[&1].clone();
    forged_head.versions.insert(2, v1);
    let mut m = Mimei::new(user.public_key(), head.info.clone(), head.created, head.right);
    m.head = forged_head;
    let value = m.head_record(HeadSigner::Author(&h.id), now).value;
    let (version, eol) = (genuine.version + 10, now + HOUR);
    let hid = Identity::from_seed(h.id.seed());
    let as_h = |d: Delegation| Record::sign_delegated(&hid, d, &genuine.salt, value.clone(), version, eol);
    // A delegation U once gave H, which ended an hour ago.
    let old = Delegation::sign(&user, &h.id.public_key(), now - 2 * HOUR, now - HOUR);
    let forgeries = [
        (
            "H's own signature, no delegation",
            Record { delegation: None, ..as_h(to_a.clone()) },
            RecordError::BadSignature,
        ),
        ("U's delegation to A, signed by H", as_h(to_a.clone()), RecordError::BadSignature),
        (
            "U's delegation to A rewritten to name H",
            as_h(Delegation { node: h.id.public_key(), ..to_a.clone() }),
            RecordError::Delegation(DelegationError::Forged),
        ),
        (
            "U's old delegation to H, its window stretched",
            as_h(Delegation { not_after: now + HOUR, ..old.clone() }),
            RecordError::Delegation(DelegationError::Forged),
        ),
        (
            "U's expired delegation to H",
            as_h(old.clone()),
            RecordError::Delegation(DelegationError::Expired(old.not_after)),
        ),
    ];

    for (what, forged, reason) in &forgeries {
        assert_eq!(forged.key, key, "{what}: a record for U's MiMei");
        assert!(forged.better_than(&genuine), "{what}: it would win, were it valid");
        assert_eq!(forged.verify(now_ms()).as_ref(), Err(reason), "{what}");

        // Pushed: B refuses to store it and keeps serving the genuine record.
        assert!(!h.put(forged), "{what}: B stored a forged record");
        assert_eq!(h.get(key).as_ref(), Some(&genuine), "{what}: B serves another record");

        // Served as H's answer while B syncs and shows the MiMei: B asks H, gets the forgery,
        // and keeps the genuine head.
        *h.serves.lock().unwrap() = Some(forged.clone());
        h.asked.store(0, Ordering::SeqCst);
        assert!(b.ok(&["mimei", "sync", &mid]).ends_with("mimei sync ok\n"), "{what}");
        let (local, net) = views(&b, &mid);
        assert!(h.asked.load(Ordering::SeqCst) >= 2, "{what}: B's sync and show both asked H");
        assert_eq!(local, genuine_local, "{what}: B's copy changed");
        assert_eq!(net, genuine_net, "{what}: B reads another head on the network");
        let (_, body) = api(&b.addr(), "DhtGetValue", &format!(r#"["", "{mid}"]"#), None);
        let got: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(got["result"]["Version"], genuine.version, "{what}: {body}");
    }
    assert_eq!(b.ok(&["mimei", "get", &mid]), "the genuine version one\n");

    // The same head under a delegation U really gave H, still valid: B takes it, over the
    // same two paths, so what refused the forgeries was their checks.
    let given = Delegation::sign(&user, &h.id.public_key(), now - 60_000, now + HOUR);
    let valid = as_h(given);
    assert_eq!(valid.verify(now_ms()), Ok(()));
    assert!(h.put(&valid), "B stores a valid record from H");
    assert_eq!(h.get(key), Some(valid.clone()));
    *h.serves.lock().unwrap() = Some(valid);
    assert!(b.ok(&["mimei", "sync", &mid]).ends_with("mimei sync ok\n"));
    let (local, net) = views(&b, &mid);
    assert_eq!(local.as_array().map(Vec::len), Some(2), "B follows the newer valid head: {local}");
    assert_eq!(net, local);

    h.shutdown();
    b.stop();
    a.stop();
}
