//! What the `logs:` and `traces:` sections share: both stores keep their records in a
//! segmented log with retention by age and size. (The fields are repeated in each section's
//! struct because serde's `flatten` does not work with `deny_unknown_fields`.)

use std::time::Duration;

use taishan_core::config::{ByteSize, FieldError};

/// Default retention: seven days.
pub(crate) fn default_retention() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}

/// Default segment size: 64 MiB.
pub(crate) fn default_segment_size() -> ByteSize {
    ByteSize::mib(64)
}

/// Checks the retention and segment size of section `section`.
pub(crate) fn validate(
    section: &str,
    retention: Duration,
    segment_size: ByteSize,
    errors: &mut Vec<FieldError>,
) {
    if retention < Duration::from_secs(60) {
        errors.push(FieldError::new(
            format!("{section}.retention"),
            "must be at least 1m",
        ));
    }
    if segment_size < ByteSize(64 * 1024) {
        errors.push(FieldError::new(
            format!("{section}.segment_size"),
            "must be at least 64KiB",
        ));
    }
}
