//! Every limit and period of the DHT, with its default (house style rule 7).

#[derive(Clone, Debug)]
pub struct Config {
    /// Bucket size and replication factor.
    pub k: usize,
    /// Requests in flight per lookup.
    pub alpha: usize,
    /// How long a request may go unanswered before the peer counts as failed.
    pub rpc_timeout_ms: u64,
    /// Lookups running at once; more are refused with `TooManyLookups`.
    pub max_lookups: usize,
    /// Requests awaiting an answer at once (all lookups and puts together).
    pub max_pending: usize,
    /// Requests awaiting an answer from one peer at once.
    pub max_pending_per_peer: usize,
    /// Newcomers remembered per full bucket.
    pub replacement_cache: usize,
    /// A bucket unused this long is refreshed with a random lookup.
    pub refresh_interval_ms: u64,
    /// Provider records live this long (wall clock) unless republished.
    pub provider_ttl_ms: u64,
    /// This node re-announces what it provides this often.
    pub provider_republish_ms: u64,
    /// Expired records and providers are dropped this often.
    pub gc_interval_ms: u64,
    /// Signed records held for others.
    pub max_records: usize,
    /// Keys with provider records held for others, and providers kept per key.
    pub max_provider_keys: usize,
    pub max_providers_per_key: usize,
    /// Keys this node provides itself.
    pub max_provided: usize,
    /// A `GetProviders` lookup stops once it has this many providers.
    pub enough_providers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            k: 20,
            alpha: 3,
            rpc_timeout_ms: 5_000,
            max_lookups: 256,
            max_pending: 4096,
            max_pending_per_peer: 32,
            replacement_cache: 8,
            refresh_interval_ms: 15 * 60 * 1000,
            provider_ttl_ms: 48 * 3600 * 1000,
            provider_republish_ms: 22 * 3600 * 1000,
            gc_interval_ms: 60 * 1000,
            max_records: 65_536,
            max_provider_keys: 65_536,
            max_providers_per_key: 64,
            max_provided: 65_536,
            enough_providers: 64,
        }
    }
}
