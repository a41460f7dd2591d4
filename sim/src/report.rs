//! What a run prints: success rates, rounds and messages per lookup, availability, speed.

use crate::files::FilesSummary;
use crate::net::Machine;
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Percentiles {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
        Percentiles { p50: at(0.5), p95: at(0.95), p99: at(0.99), mean: v.iter().sum::<f64>() / v.len() as f64 }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub nodes: usize,
    pub seed: u64,
    pub loss: f64,
    pub churn: f64,
    pub crashed: f64,
    pub lookups: usize,
    pub lookups_ok: usize,
    pub rounds: Percentiles,
    pub rpcs: Percentiles,
    pub latency_ms: Percentiles,
    /// FindClosest lookups, and how many returned exactly the true k closest live nodes.
    pub closest_lookups: usize,
    pub closest_exact: usize,
    /// (simulated ms since start, found, asked) for each provider sample.
    pub availability_over_time: Vec<(u64, usize, usize)>,
    pub provider_checks: usize,
    pub provider_found: usize,
    pub record_checks: usize,
    pub record_found: usize,
    /// File fetches, in runs with files.
    pub files: Option<FilesSummary>,
    pub machine: Machine,
    /// Sessions set up (whole nodes: each a Noise handshake) and connections broken by faults.
    pub sessions: u64,
    pub broken_conns: u64,
    pub violations: Vec<String>,
    pub faults_reported: u64,
    pub messages: u64,
    pub events: u64,
    pub virtual_ms: u64,
    /// Filled in by the caller that owns a clock (the simulator has none).
    pub wall_ms: Option<u64>,
    pub trace_hash: String,
    pub replay: String,
}

impl Report {
    pub fn success_rate(&self) -> f64 {
        if self.lookups == 0 {
            1.0
        } else {
            self.lookups_ok as f64 / self.lookups as f64
        }
    }

    pub fn provider_availability(&self) -> f64 {
        if self.provider_checks == 0 {
            1.0
        } else {
            self.provider_found as f64 / self.provider_checks as f64
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "nodes {}  seed {}  loss {:.0}%  churn {:.0}%  crashed {:.0}%",
            self.nodes,
            self.seed,
            self.loss * 100.0,
            self.churn * 100.0,
            self.crashed * 100.0
        )?;
        writeln!(
            f,
            "findpeer lookups   {} / {} of live nodes succeeded ({:.2}%)",
            self.lookups_ok,
            self.lookups,
            self.success_rate() * 100.0
        )?;
        writeln!(
            f,
            "rounds (to known)  p50 {:.0}  p95 {:.0}  p99 {:.0}  (mean {:.2})",
            self.rounds.p50, self.rounds.p95, self.rounds.p99, self.rounds.mean
        )?;
        writeln!(
            f,
            "messages/lookup    p50 {:.0}  p95 {:.0}  p99 {:.0}  (mean {:.1})",
            self.rpcs.p50, self.rpcs.p95, self.rpcs.p99, self.rpcs.mean
        )?;
        writeln!(
            f,
            "lookup time        p50 {:.0} ms  p99 {:.0} ms (simulated)",
            self.latency_ms.p50, self.latency_ms.p99
        )?;
        if self.closest_lookups > 0 {
            writeln!(
                f,
                "closest lookups    {} / {} returned the true k closest live nodes",
                self.closest_exact, self.closest_lookups
            )?;
        }
        if !self.availability_over_time.is_empty() {
            let parts: Vec<String> = self
                .availability_over_time
                .iter()
                .map(|(t, found, asked)| format!("{:.1}h {}/{}", *t as f64 / 3_600_000.0, found, asked))
                .collect();
            writeln!(f, "provider availability over time: {}", parts.join(", "))?;
        }
        if self.provider_checks > 0 {
            writeln!(
                f,
                "provider records   {} / {} found at the end ({:.1}%)",
                self.provider_found,
                self.provider_checks,
                self.provider_availability() * 100.0
            )?;
        }
        if self.record_checks > 0 {
            writeln!(f, "signed records     {} / {} found at the end", self.record_found, self.record_checks)?;
        }
        if let Some(fs) = &self.files {
            writeln!(f, "file fetches {} / {} byte-identical", fs.identical, fs.files)?;
            writeln!(
                f,
                "file fetch time    p50 {:.0} ms  p99 {:.0} ms (simulated); {:.1} MiB; {} block fetches retried, {} moved to another node, {} corrupt",
                fs.time_ms.p50,
                fs.time_ms.p99,
                fs.bytes as f64 / (1024.0 * 1024.0),
                fs.retries,
                fs.fetchers_replaced,
                fs.corrupt
            )?;
        }
        if self.machine == Machine::Node {
            writeln!(
                f,
                "whole nodes        {} sessions set up; {} connections broken by faults",
                self.sessions, self.broken_conns
            )?;
        }
        writeln!(
            f,
            "checkers           {} violations; {} hostile/bad messages reported",
            self.violations.len(),
            self.faults_reported
        )?;
        for v in self.violations.iter().take(5) {
            writeln!(f, "  violation: {v}")?;
        }
        write!(
            f,
            "events {}  messages {}  simulated {:.1} s",
            self.events,
            self.messages,
            self.virtual_ms as f64 / 1000.0
        )?;
        if let Some(w) = self.wall_ms {
            let eps = self.events as f64 / (w.max(1) as f64 / 1000.0);
            write!(f, "  wall {:.2} s  ({:.0} events/s)", w as f64 / 1000.0, eps)?;
        }
        writeln!(f)?;
        writeln!(f, "trace {}", self.trace_hash)?;
        write!(f, "replay: {}", self.replay)
    }
}
