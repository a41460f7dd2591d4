//! The deterministic network simulator: many sans-IO DHT cores in one thread, virtual time that
//! jumps from event to event, and seeded faults (latency, loss, duplication, partitions, crashes
//! and restarts through the restore path, clock skew). One seed reproduces one run exactly; the
//! trace hash proves it. Checkers watch every node: lookups against an oracle of the true closest
//! live nodes, records never served past their EOL, and the drain contract.
//!
//! It is a product feature (`leither sim`), not a test mock.
#![forbid(unsafe_code)]

pub mod mimei;
mod net;
pub mod redis_gen;
pub mod repl;
mod report;
mod scenario;

pub use net::{Fault, NodeIx, Outcome, Sim, SimConfig};
pub use report::{Percentiles, Report};
pub use scenario::{run_scenario, Scenario};
