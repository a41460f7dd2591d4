//! MiMei publication under faults: an author publishes versions (signed heads put on the DHT and
//! sent to its providers as notices); providers follow with `proto_core::mimei::follow` — from the
//! notices and, now and then, from a DHT read, which is how a provider that missed notices (loss,
//! a partition) catches up. A forging node sends heads for the author's MiMei signed with its own
//! key; the author's second device publishes a different content for one version (a conflict).
//! At the end every provider must hold the newest version, no forged head may have been taken,
//! and every provider that saw both sides of the conflict must report it. On whole nodes the
//! notices travel as `Command::Notify` over sessions.

use crate::net::{Fault, Machine, Sim, SimConfig};
use proto_core::dht::{Command, Record, Reply};
use proto_core::mimei::follow::{HeadFollower, Seen};
use proto_core::mimei::{CidBytes, HeadSigner, Info, Kind, Mimei};
use proto_core::node::{self, MimeiMsg};

#[derive(Clone, Debug)]
pub struct MimeiScenario {
    pub seed: u64,
    pub nodes: usize,
    pub providers: usize,
    pub versions: u64,
    /// Time between publications (ms).
    pub every_ms: u64,
    pub loss: f64,
    /// Providers 1..=n cut off from everyone else from the 10th to the 30th publication.
    pub partitioned: usize,
    /// How often a provider reads the head from the DHT (ms).
    pub poll_ms: u64,
    pub forger: bool,
    pub conflict: bool,
    /// On whole nodes the notices are `Command::Notify` over sessions, and a provider's node
    /// passes on only heads that verify for a MiMei it provides (`Event::HeadUpdated`).
    pub machine: Machine,
}

impl Default for MimeiScenario {
    fn default() -> Self {
        MimeiScenario {
            seed: 1,
            nodes: 200,
            providers: 20,
            versions: 50,
            every_ms: 2_000,
            loss: 0.05,
            partitioned: 5,
            poll_ms: 10_000,
            forger: true,
            conflict: true,
            machine: Machine::Dht,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MimeiReport {
    pub newest: u64,
    /// Providers holding the newest version at the end.
    pub current: usize,
    pub providers: usize,
    /// From the last publication until every provider held it (ms); None if some never did.
    pub settled_ms: Option<u64>,
    pub forged_rejected: u64,
    /// Forged heads a provider took (must be 0).
    pub forged_taken: u64,
    /// Hostile or bad messages the nodes reported (whole nodes refuse heads that do not verify).
    pub faults_reported: u64,
    /// Providers that report the conflicting version.
    pub conflicts_reported: usize,
    pub trace: String,
}

const FORGED_VERSION: u64 = 999_999;

pub fn run_mimei(s: &MimeiScenario) -> MimeiReport {
    let mut sim = Sim::new(SimConfig { seed: s.seed, machine: s.machine, ..SimConfig::default() });
    sim.join(s.nodes);
    let start = sim.now() + 1_000;
    sim.run_until(start);
    sim.set_loss(s.loss);

    let (author_ix, forger_ix) = (0usize, s.providers + 1);
    let providers: Vec<usize> = (1..=s.providers).collect();
    let author = sim.identity(author_ix);
    let forger = sim.identity(forger_ix);
    let info = Info { kind: Kind::File, appid: String::new(), ext: String::new(), mark: "sim".into() };
    let mut m = Mimei::new(author.public_key(), info, start, 0x0727_6704);
    let mid = m.mid();
    let mut followers: Vec<HeadFollower> = providers.iter().map(|_| HeadFollower::new(mid)).collect();
    let mut forged_taken = 0;
    let mut fork: Option<Mimei> = None;

    if s.partitioned > 0 {
        let groups: Vec<u32> = (0..sim.len()).map(|i| u32::from((1..=s.partitioned).contains(&i))).collect();
        sim.schedule(start + 10 * s.every_ms, Fault::Partition(groups));
        sim.schedule(start + 30 * s.every_ms, Fault::Repair);
    }

    let end_of_publishing = start + s.versions * s.every_ms;
    let deadline = end_of_publishing + 120_000;
    let mut next_publish = 1u64;
    let mut next_poll = start + s.poll_ms;
    let mut seen_outcomes = 0;
    let mut settled_ms = None;
    if s.machine == Machine::Node {
        for &p in &providers {
            sim.command(p, Command::Provide(mid.0));
        }
    }
    let notify = |sim: &mut Sim, from: usize, rec: &Record, to: &[usize]| {
        if sim.cfg.machine == Machine::Node {
            let to = to.iter().map(|&p| sim.peer_info(p)).collect();
            sim.node_command_at(from, node::Command::Notify { to, record: rec.clone() }, sim.now());
            return;
        }
        let body = minicbor::to_vec(MimeiMsg::Head { record: rec.clone() }).expect("encode");
        for &p in to {
            sim.send_app(from, p, body.clone());
        }
    };
    let mut t = start;
    while t <= deadline {
        // Publications.
        if next_publish <= s.versions && t >= start + next_publish * s.every_ms {
            let v = next_publish;
            m.head.versions.insert(v, CidBytes(format!("content of version {v}").into_bytes()));
            if s.conflict && v == 9 {
                fork = Some(m.clone());
            }
            let rec = m.head_record(HeadSigner::Author(&author), sim.unix_of(author_ix));
            sim.command(author_ix, Command::PutRecord(rec.clone()));
            notify(&mut sim, author_ix, &rec, &providers);
            // The author's second device, holding state from version 9, publishes its own 10.
            if let (Some(f), 25) = (fork.as_mut(), v) {
                f.head.versions.insert(10, CidBytes(b"the other device's 10".to_vec()));
                f.published = m.published;
                m.published += 1;
                let rec = f.head_record(HeadSigner::Author(&author), sim.unix_of(author_ix));
                notify(&mut sim, author_ix, &rec, &providers);
            }
            if s.forger && v % 10 == 5 {
                // Heads claiming a huge version: one under the forger's own key, one claiming the
                // author's key and mid but signed by the forger.
                let mut fake = m.clone();
                fake.head.versions.insert(FORGED_VERSION, CidBytes(b"malware".to_vec()));
                let r = fake.head_record(HeadSigner::Author(&forger), sim.unix_of(forger_ix));
                let mut claimed = r.clone();
                claimed.key = mid.0;
                claimed.author = author.public_key();
                sim.command(forger_ix, Command::PutRecord(claimed.clone()));
                notify(&mut sim, forger_ix, &r, &providers);
                notify(&mut sim, forger_ix, &claimed, &providers);
            }
            next_publish += 1;
        }
        // Catch-up reads.
        if t >= next_poll {
            for &p in &providers {
                sim.command(p, Command::GetRecord(mid.0));
            }
            next_poll += s.poll_ms;
        }
        t += 50;
        sim.run_until(t);
        // Heads that arrived: notices and DHT reads.
        let mut heard: Vec<(usize, Record)> = Vec::new();
        for (to, _from, bytes) in std::mem::take(&mut sim.app_inbox) {
            if let Ok(MimeiMsg::Head { record }) = minicbor::decode::<MimeiMsg>(&bytes) {
                heard.push((to, record));
            }
        }
        for (to, e) in std::mem::take(&mut sim.node_events) {
            if let node::Event::HeadUpdated { record } = e {
                heard.push((to, record));
            }
        }
        sim.node_replies.clear();
        for o in &sim.outcomes[seen_outcomes..] {
            if let (Command::GetRecord(_), Ok(Reply::Record(Some(r)))) = (&o.command, &o.reply) {
                heard.push((o.node, r.clone()));
            }
        }
        seen_outcomes = sim.outcomes.len();
        for (to, record) in heard {
            let Some(i) = providers.iter().position(|&p| p == to) else { continue };
            let now = sim.unix_of(to);
            if followers[i].on_record(&record, now) == Seen::Newer && followers[i].newest() == Some(FORGED_VERSION) {
                forged_taken += 1;
            }
        }
        if t >= end_of_publishing && settled_ms.is_none() && followers.iter().all(|f| f.newest() == Some(s.versions)) {
            settled_ms = Some(t - end_of_publishing);
            if !s.conflict || followers.iter().all(|f| !f.conflicts.is_empty()) {
                break;
            }
        }
    }
    MimeiReport {
        newest: s.versions,
        current: followers.iter().filter(|f| f.newest() == Some(s.versions)).count(),
        providers: s.providers,
        settled_ms,
        forged_rejected: followers.iter().map(|f| f.rejected).sum(),
        forged_taken,
        faults_reported: sim.faults_reported,
        conflicts_reported: followers.iter().filter(|f| f.conflicts.contains(&10)).count(),
        trace: sim.trace_hash(),
    }
}
