//! When a group evaluates: on slots of its interval, offset by a hash of its file and name
//! exactly as Prometheus offsets them, so groups spread over the interval and the same file
//! evaluates at the same instants in Taishan and in Prometheus.

use std::time::Duration;

use xxhash_rust::xxh64::xxh64;

/// The group's offset within its interval, in nanoseconds: Prometheus's label-set hash of
/// `{file, name}` modulo the interval.
pub fn slot_offset_ns(file: &str, name: &str, interval: Duration) -> i64 {
    let interval_ns = interval.as_nanos().max(1) as u64;
    let mut key = Vec::with_capacity(file.len() + name.len() + 12);
    for (k, v) in [("file", file), ("name", name)] {
        key.extend_from_slice(k.as_bytes());
        key.push(0xff);
        key.extend_from_slice(v.as_bytes());
        key.push(0xff);
    }
    (xxh64(&key, 0) % interval_ns) as i64
}

/// The latest evaluation slot at or before `now_ns`, in nanoseconds since the epoch.
/// Samples carry the slot truncated to milliseconds, as in Prometheus.
pub fn slot_at_or_before(now_ns: i64, offset_ns: i64, interval: Duration) -> i64 {
    let interval_ns = interval.as_nanos().clamp(1, i64::MAX as u128) as i64;
    let adjusted = now_ns - offset_ns;
    adjusted - adjusted.rem_euclid(interval_ns) + offset_ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval_at_a_stable_offset() {
        let every = Duration::from_secs(15);
        let off = slot_offset_ns("rules/demo.yaml", "payments", every);
        assert!((0..15_000_000_000).contains(&off));
        assert_eq!(off, slot_offset_ns("rules/demo.yaml", "payments", every));
        assert_ne!(off, slot_offset_ns("rules/demo.yaml", "ledger", every));
        let t = 1_764_000_000_123_456_789;
        let a = slot_at_or_before(t, off, every);
        assert!(a <= t && t - a < 15_000_000_000);
        assert_eq!((a - off).rem_euclid(15_000_000_000), 0);
        assert_eq!(
            slot_at_or_before(a + 15_000_000_000, off, every),
            a + 15_000_000_000
        );
        assert_eq!(slot_at_or_before(a + 14_999_999_999, off, every), a);
    }
}
