//! Whole nodes: a `proto_core::node::Node` per simulated node, driven as the runtimes drive it
//! — its dials, sends and closes go to simulated streams (`stream`), its `LoadBlock`s are
//! answered from the node's block store, its replies and events go to the checkers and the
//! scenario.

use crate::net::{Core, NodeIx, Sim};
use proto_core::cid::Cid;
use proto_core::node::{Event, Input, Output};
use proto_core::time::Mono;

/// Connection faults that are the network's doing, not a peer's misbehaviour.
const BENIGN: [&str; 3] = ["idle timeout", "handshake timeout", "dropped for a newer handshake"];

impl Sim {
    /// Hands one input to a whole node and executes what follows.
    pub(crate) fn feed(&mut self, n: NodeIx, input: Input) {
        let now = self.node_now(n);
        if let Some(Core::Node(m)) = self.nodes[n].core.as_mut() {
            m.handle_input(now, input);
            self.after_handle(n, false);
        }
    }

    /// Executes a whole node's outputs in order; returns when it wants its timer.
    pub(crate) fn drain_node(&mut self, n: NodeIx) -> Option<Mono> {
        loop {
            let Some(Core::Node(m)) = self.nodes[n].core.as_mut() else { return None };
            let Some(out) = m.poll_output() else { return m.poll_timeout() };
            match out {
                Output::Dial { conn, addr } => self.stream_dial(n, conn, addr),
                Output::Send { conn, bytes } => self.stream_send(n, conn, bytes),
                Output::Close { conn } => self.stream_close(n, conn),
                Output::Persist(writes) => self.persist(n, writes),
                Output::Reply { id, result } => self.node_reply(n, id, result.map_err(|e| e.to_string())),
                Output::LoadBlock { peer, rid, cid } => {
                    // Read from the store at once, as the runtimes do in their loop.
                    let data = self.nodes[n].blocks.get(&cid).cloned();
                    let now = self.node_now(n);
                    if let Some(Core::Node(m)) = self.nodes[n].core.as_mut() {
                        m.handle_input(now, Input::BlockLoaded { peer, rid, data });
                    }
                }
                Output::LoadHead { peer, mid } => {
                    // Simulated nodes keep no MiMei store: they hold no version to report.
                    let now = self.node_now(n);
                    if let Some(Core::Node(m)) = self.nodes[n].core.as_mut() {
                        m.handle_input(now, Input::HeadLoaded { peer, mid, version: None });
                    }
                }
                Output::LoadIpfsBlock { cid } => {
                    let data = self.nodes[n].blocks.get(&cid).cloned();
                    let now = self.node_now(n);
                    if let Some(Core::Node(m)) = self.nodes[n].core.as_mut() {
                        m.handle_input(now, Input::IpfsBlockLoaded { cid, data });
                    }
                }
                Output::HasIpfsBlock { cid } => {
                    let size = self.nodes[n].blocks.get(&cid).map(Vec::len);
                    let now = self.node_now(n);
                    if let Some(Core::Node(m)) = self.nodes[n].core.as_mut() {
                        m.handle_input(
                            now,
                            Input::IpfsBlockHeld { cid, have: size.is_some(), size: size.unwrap_or(0) },
                        );
                    }
                }
                Output::Event(e) => self.on_node_event(n, e),
            }
        }
    }

    fn on_node_event(&mut self, n: NodeIx, e: Event) {
        match e {
            Event::Dht(e) => self.on_dht_event(n, e),
            Event::PeerFaulted { reason, .. } => {
                if !BENIGN.contains(&reason.as_str()) {
                    self.faults_reported += 1;
                }
            }
            Event::Connected { conn, .. } => {
                if conn.0 >= 1 << 63 {
                    self.sessions += 1; // counted once, on the dialing side
                }
            }
            Event::Disconnected { .. } => {}
            other => self.node_events.push((n, other)),
        }
    }

    /// Puts blocks in node `n`'s store (what an import writes).
    pub fn put_blocks(&mut self, n: NodeIx, blocks: impl IntoIterator<Item = (Cid, Vec<u8>)>) {
        self.nodes[n].blocks.extend(blocks);
    }

    pub fn has_block(&self, n: NodeIx, cid: &Cid) -> bool {
        self.nodes[n].blocks.contains_key(cid)
    }

    /// Node `n`'s block store, to read DAGs from.
    pub fn blocks(&self, n: NodeIx) -> &std::collections::BTreeMap<Cid, Vec<u8>> {
        &self.nodes[n].blocks
    }
}
