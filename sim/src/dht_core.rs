//! Bare DHT cores: their datagrams go straight from core to core (latency, loss, duplication,
//! partitions), with no connections under them.

use crate::net::{ix_of, Core, Ev, NodeIx, Sim};
use proto_core::dht::{Event, Input, Key, Output, PeerInfo};
use proto_core::time::Mono;

impl Sim {
    /// A datagram arrives at a bare DHT core.
    pub(crate) fn deliver_datagram(&mut self, to: NodeIx, from: Key, bytes: Vec<u8>) {
        let now = self.node_now(to);
        if let Some(Core::Dht(d)) = self.nodes[to].core.as_mut() {
            d.handle_input(now, Input::Received { from, bytes });
            self.after_handle(to, false);
        }
    }

    /// Executes a DHT core's outputs; returns when it wants its timer.
    pub(crate) fn drain_dht(&mut self, n: NodeIx) -> Option<Mono> {
        loop {
            let Some(Core::Dht(d)) = self.nodes[n].core.as_mut() else { return None };
            let Some(out) = d.poll_output() else { return d.poll_timeout() };
            match out {
                Output::Transmit { to, bytes } => self.transmit(n, to, bytes),
                Output::Persist(writes) => self.persist(n, writes),
                Output::Reply { id, result } => self.finish(n, id, result.map_err(|e| e.to_string())),
                Output::Event(e) => self.on_dht_event(n, e),
            }
        }
    }

    /// The DHT's events, from either machine: lookup figures for the report, faults counted.
    pub(crate) fn on_dht_event(&mut self, n: NodeIx, e: Event) {
        match e {
            Event::PeerFaulted { .. } => self.faults_reported += 1,
            Event::LookupFinished { id: Some(id), stats } => {
                self.stats_of.insert((n, id), (stats.rounds, stats.rpcs));
            }
            Event::LookupFinished { id: None, .. } => {}
        }
    }

    fn transmit(&mut self, from: NodeIx, to: PeerInfo, bytes: Vec<u8>) {
        self.messages += 1;
        let Some(dest) = to.addrs.first().and_then(ix_of).filter(|&d| d < self.nodes.len()) else { return };
        if self.nodes[dest].id != to.id {
            return; // a stale address: nobody with that id listens there
        }
        if self.partitioned(from, dest) || self.net_rng.chance(self.cfg.loss) {
            return;
        }
        let copies = if self.net_rng.chance(self.cfg.duplicate) { 2 } else { 1 };
        let from_id = self.nodes[from].id;
        for _ in 0..copies {
            let delay = self.latency();
            self.push(self.now + delay, Ev::Deliver { to: dest, from: from_id, bytes: bytes.clone() });
        }
    }
}
