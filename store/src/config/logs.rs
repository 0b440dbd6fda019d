//! `logs:` how long log records are kept.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::segmented::{self, default_retention, default_segment_size};
use taishan_core::config::{ByteSize, FieldError, Section};

/// The log store.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// How long log records are kept. Default `7d`.
    #[serde(default = "default_retention", with = "humantime_serde")]
    pub retention: Duration,
    /// Largest total size of stored logs; the oldest go first. `0` (default): no limit.
    #[serde(default)]
    pub retention_size: ByteSize,
    /// Size at which a new segment file is started. Default `64MiB`.
    #[serde(default = "default_segment_size")]
    pub segment_size: ByteSize,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            retention: default_retention(),
            retention_size: ByteSize::default(),
            segment_size: default_segment_size(),
        }
    }
}

impl Section for LogsConfig {
    const NAME: &'static str = "logs";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        segmented::validate("logs", self.retention, self.segment_size, errors);
    }
}
