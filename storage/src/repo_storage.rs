//! The store's size limit in `config.json` (`"storage": {…}`; absent fields keep defaults): the
//! size the automatic garbage collection keeps the store under (`storage_max`), how far down
//! it collects (`gc_low_water_percent`), how often it looks, and how often access times are
//! written.

use serde_json::{json, Value};

/// The default `storage_max` is the smaller of this and `DEFAULT_DISK_SHARE_PERCENT` of the
/// room the store has on its disk (what it uses plus what is free), so a router's small flash
/// gets a small limit by the same rule.
pub const DEFAULT_STORAGE_MAX_CAP: u64 = 10 << 30;
pub const DEFAULT_DISK_SHARE_PERCENT: u64 = 90;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageSettings {
    /// Bytes of pages in use at which the automatic collection runs (`None`: the default rule).
    pub storage_max: Option<u64>,
    /// The collection removes least recently used blocks until the store is down to this
    /// share of `storage_max`.
    pub gc_low_water_percent: u64,
    /// How often the node compares the store's size with `storage_max`.
    pub gc_check_interval_ms: u64,
    /// How often access times noted in memory are written to the store.
    pub atime_flush_ms: u64,
    /// Most bytes one `FilesRead` or `MFGetData` answers (larger files are read in pieces).
    pub max_read_bytes: u64,
    /// Files open at once by the MiMei file API (the least recently used one closes past it).
    pub max_open_files: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            storage_max: None,
            gc_low_water_percent: 90,
            gc_check_interval_ms: 1000,
            atime_flush_ms: 60_000,
            max_read_bytes: 64 << 20,
            max_open_files: 1024,
        }
    }
}

impl StorageSettings {
    /// The limit in force: the configured one, or the default rule over the store's room
    /// (`used` bytes now, `avail` free on its disk when known).
    pub fn effective_max(&self, used: u64, avail: Option<u64>) -> u64 {
        match (self.storage_max, avail) {
            (Some(m), _) => m,
            (None, Some(free)) => DEFAULT_STORAGE_MAX_CAP.min((used + free) / 100 * DEFAULT_DISK_SHARE_PERCENT),
            (None, None) => DEFAULT_STORAGE_MAX_CAP,
        }
    }

    /// Where a collection at `max` stops.
    pub fn low_water(&self, max: u64) -> u64 {
        max / 100 * self.gc_low_water_percent
    }

    pub fn to_json(&self) -> Value {
        json!({
            "storage_max": self.storage_max,
            "gc_low_water_percent": self.gc_low_water_percent,
            "gc_check_interval_ms": self.gc_check_interval_ms,
            "atime_flush_ms": self.atime_flush_ms,
            "max_read_bytes": self.max_read_bytes,
            "max_open_files": self.max_open_files,
        })
    }

    pub fn from_json(o: &Value) -> Result<Self, String> {
        if !o.is_object() {
            return Err("storage must be an object like {\"storage_max\": 10737418240}".into());
        }
        let mut s = StorageSettings::default();
        match o.get("storage_max") {
            None | Some(Value::Null) => {}
            Some(x) => {
                s.storage_max = Some(
                    x.as_u64()
                        .filter(|n| *n > 0)
                        .ok_or("storage.storage_max must be a positive number of bytes (or null for the default)")?,
                )
            }
        }
        let positive = |k: &str, d: u64| crate::repo::positive_field(o, "storage", k, d as usize).map(|v| v as u64);
        s.gc_low_water_percent = positive("gc_low_water_percent", s.gc_low_water_percent)?;
        if s.gc_low_water_percent > 100 {
            return Err("storage.gc_low_water_percent must be at most 100".into());
        }
        s.gc_check_interval_ms = positive("gc_check_interval_ms", s.gc_check_interval_ms)?;
        s.atime_flush_ms = positive("atime_flush_ms", s.atime_flush_ms)?;
        s.max_read_bytes = positive("max_read_bytes", s.max_read_bytes)?;
        s.max_open_files = positive("max_open_files", s.max_open_files)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_rule_and_errors() {
        let d = StorageSettings::from_json(&json!({})).unwrap();
        assert_eq!(d, StorageSettings::default());
        assert_eq!(StorageSettings::from_json(&d.to_json()).unwrap(), d);
        // 90% of the room, at most 10 GiB.
        assert_eq!(d.effective_max(100 << 20, Some(900 << 20)), (1000 << 20) / 100 * 90);
        assert_eq!(d.effective_max(0, Some(1 << 40)), 10 << 30);
        assert_eq!(d.low_water(1000), 900);
        let s = StorageSettings::from_json(&json!({"storage_max": 5000, "gc_low_water_percent": 50})).unwrap();
        assert_eq!((s.effective_max(0, Some(1 << 40)), s.low_water(5000)), (5000, 2500));
        for (bad, says) in [
            (json!({"storage_max": 0}), "storage.storage_max"),
            (json!({"storage_max": "1G"}), "storage.storage_max"),
            (json!({"gc_low_water_percent": 101}), "storage.gc_low_water_percent"),
            (json!({"gc_check_interval_ms": 0}), "storage.gc_check_interval_ms"),
            (json!({"max_read_bytes": 0}), "storage.max_read_bytes"),
            (json!(3), "storage must be an object"),
        ] {
            assert!(StorageSettings::from_json(&bad).unwrap_err().contains(says), "{bad}");
        }
    }
}
