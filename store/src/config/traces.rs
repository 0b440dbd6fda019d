//! `traces:` how long spans are kept.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::segmented::{self, default_retention, default_segment_size};
use taishan_core::config::{ByteSize, FieldError, Section};

/// The trace store.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TracesConfig {
    /// How long spans are kept. Default `7d`.
    #[serde(default = "default_retention", with = "humantime_serde")]
    pub retention: Duration,
    /// Largest total size of stored spans; the oldest go first. `0` (default): no limit.
    #[serde(default)]
    pub retention_size: ByteSize,
    /// Size at which a new segment file is started. Default `64MiB`.
    #[serde(default = "default_segment_size")]
    pub segment_size: ByteSize,
    /// How often RED and service-graph series derived from spans are written. Default `15s`.
    #[serde(default = "default_signals_interval", with = "humantime_serde")]
    pub signals_interval: Duration,
    /// How long a client span waits for its server span before it counts as a call to an
    /// uninstrumented peer. Default `10s`.
    #[serde(default = "default_pair_wait", with = "humantime_serde")]
    pub pair_wait: Duration,
}

fn default_signals_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_pair_wait() -> Duration {
    Duration::from_secs(10)
}

impl Default for TracesConfig {
    fn default() -> Self {
        Self {
            retention: default_retention(),
            retention_size: ByteSize::default(),
            segment_size: default_segment_size(),
            signals_interval: default_signals_interval(),
            pair_wait: default_pair_wait(),
        }
    }
}

impl Section for TracesConfig {
    const NAME: &'static str = "traces";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        segmented::validate("traces", self.retention, self.segment_size, errors);
        if self.signals_interval < Duration::from_secs(1) {
            errors.push(FieldError::new(
                "traces.signals_interval",
                "must be at least 1s",
            ));
        }
    }
}
