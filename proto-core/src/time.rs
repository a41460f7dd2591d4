//! Time as plain integers handed in by the driver (house style §17.1).

/// Milliseconds on the node's monotonic clock; the origin is arbitrary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mono(pub u64);

/// Wall-clock milliseconds since 1970; may jump or be skewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMs(pub u64);

/// Both clocks, passed on every call into a state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Now {
    pub mono: Mono,
    pub unix: UnixMs,
}
