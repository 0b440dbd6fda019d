//! Samples and Prometheus's staleness marker.

/// The bit pattern of the NaN that Prometheus writes to say "this series ended here".
/// It must survive storage bit-for-bit; any other NaN is an ordinary value.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// One value of one series at one instant (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The value; may be the staleness marker.
    pub value: f64,
}

impl Sample {
    /// A sample at `timestamp_ms` with `value`.
    pub fn new(timestamp_ms: i64, value: f64) -> Self {
        Self {
            timestamp_ms,
            value,
        }
    }

    /// A staleness marker at `timestamp_ms`.
    pub fn stale(timestamp_ms: i64) -> Self {
        Self::new(timestamp_ms, f64::from_bits(STALE_NAN_BITS))
    }

    /// Whether two samples are the same to the bit (NaNs included).
    pub fn same_as(&self, other: &Sample) -> bool {
        self.timestamp_ms == other.timestamp_ms && self.value.to_bits() == other.value.to_bits()
    }
}

/// Whether `value` is the staleness marker.
pub fn is_stale_marker(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_recognised_and_ordinary_nan_is_not() {
        assert!(is_stale_marker(Sample::stale(1).value));
        assert!(!is_stale_marker(f64::NAN));
        assert!(!is_stale_marker(1.0));
    }
}
