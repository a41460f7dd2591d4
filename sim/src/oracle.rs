//! The checkers' side of a finished command: judged against the true state of the network
//! (which nodes are live, where they listen), recorded for the report.

use crate::net::{ix_of, NodeIx, NodeReply, Outcome, Sim, NODE_DOWN};
use proto_core::dht::{Command, CommandId, Key, Reply};
use proto_core::node;
use std::collections::BTreeSet;

impl Sim {
    /// The k closest live nodes to `target` (the oracle).
    pub fn true_closest(&self, target: &Key, k: usize) -> Vec<Key> {
        let mut ids: Vec<Key> = self.live_nodes().into_iter().map(|n| self.nodes[n].id).collect();
        ids.sort_by_key(|id| id.distance(target));
        ids.truncate(k);
        ids
    }

    pub(crate) fn finish(&mut self, n: NodeIx, id: CommandId, reply: Result<Reply, String>) {
        let Some(issued) = self.issued.remove(&(n, id)) else { return };
        let stats = self.stats_of.remove(&(n, id));
        let ok = self.check(n, &issued.command, &reply);
        let target_live = match &issued.command {
            Command::FindPeer(t) => self.by_id.get(t).is_some_and(|&ix| self.alive(ix)),
            _ => true,
        };
        let ran = !matches!(&reply, Err(e) if e == NODE_DOWN);
        self.outcomes.push(Outcome {
            node: n,
            command: issued.command,
            reply,
            ok,
            target_live,
            ran,
            rounds: stats.map(|s| s.0),
            rpcs: stats.map(|s| s.1),
            latency_ms: self.now - issued.at,
            issued_at: issued.at,
        });
    }

    /// A whole node's answer: DHT commands go to the checkers, the others to `node_replies`.
    pub(crate) fn node_reply(&mut self, n: NodeIx, id: CommandId, result: Result<node::Reply, String>) {
        if self.issued.contains_key(&(n, id)) {
            let reply = match result {
                Ok(node::Reply::Dht(r)) => Ok(r),
                Ok(other) => Err(format!("not a DHT reply: {other:?}")),
                Err(e) => Err(e),
            };
            return self.finish(n, id, reply);
        }
        if self.node_issued.remove(&(n, id)).is_some() {
            self.node_replies.push(NodeReply { node: n, id, result });
        }
    }

    /// Judges one reply against the oracle; safety violations are recorded separately.
    fn check(&mut self, n: NodeIx, command: &Command, reply: &Result<Reply, String>) -> bool {
        match (command, reply) {
            // Judged for live targets only (the report leaves dead ones out).
            (Command::FindPeer(target), Ok(Reply::Peer(found))) => found.as_ref().is_some_and(|p| {
                p.id == *target && p.addrs.first().and_then(ix_of).is_some_and(|ix| self.by_id.get(target) == Some(&ix))
            }),
            (Command::FindClosest(target), Ok(Reply::Closest(got))) => {
                let truth = self.true_closest(target, self.cfg.dht.k);
                let got: BTreeSet<Key> = got.iter().map(|p| p.id).collect();
                truth.iter().all(|t| got.contains(t))
            }
            (Command::GetRecord(_), Ok(Reply::Record(Some(r)))) => {
                if r.eol <= self.unix_of(n) {
                    self.violations.push(format!("record served past its EOL to node {n}"));
                    return false;
                }
                true
            }
            (Command::GetProviders(_), Ok(Reply::Providers(p))) => !p.is_empty(),
            (_, Ok(_)) => true,
            (_, Err(_)) => false,
        }
    }
}
