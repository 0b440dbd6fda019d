//! `ingest:` limits at the edge, where overload is refused rather than absorbed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use taishan_core::config::{ByteSize, FieldError, Section};

use crate::limits::TenantLimits;

/// Limits on incoming writes.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Largest request body accepted (after decompression for remote write); larger get 413.
    /// Default `32MiB`.
    #[serde(default = "default_max_body_size")]
    pub max_body_size: ByteSize,
    /// Batches waiting for the write-ahead log; beyond it writes get 429. Default 64.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// The `Retry-After` sent with 429. Default `5s`.
    #[serde(default = "default_retry_after", with = "humantime_serde")]
    pub retry_after: Duration,
    /// An OTLP resource attribute (e.g. `tenant.id`) whose value, when a resource carries it,
    /// is that resource's tenant instead of `X-Scope-OrgID`. Default: none.
    #[serde(default)]
    pub otlp_tenant_attribute: Option<String>,
    /// The receivers to serve, by name (`remote_write`, `influx`, `json_logs`, `loki`,
    /// `otlp_http`, `otlp_grpc`). Default: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receivers: Option<Vec<String>>,
    /// What one tenant may write (see [`TenantLimits`]); on by default.
    #[serde(default)]
    pub limits: TenantLimits,
}

fn default_max_body_size() -> ByteSize {
    ByteSize::mib(32)
}

fn default_queue_capacity() -> usize {
    64
}

fn default_retry_after() -> Duration {
    Duration::from_secs(5)
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_body_size: default_max_body_size(),
            queue_capacity: default_queue_capacity(),
            retry_after: default_retry_after(),
            otlp_tenant_attribute: None,
            receivers: None,
            limits: TenantLimits::default(),
        }
    }
}

impl Section for IngestConfig {
    const NAME: &'static str = "ingest";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.max_body_size < ByteSize(1024) {
            errors.push(FieldError::new(
                "ingest.max_body_size",
                "must be at least 1KiB",
            ));
        }
        if self.queue_capacity == 0 {
            errors.push(FieldError::new("ingest.queue_capacity", "must be above 0"));
        }
        for (i, name) in self.receivers.iter().flatten().enumerate() {
            let earlier = self.receivers.iter().flatten().take(i);
            if earlier.into_iter().any(|n| n == name) {
                errors.push(FieldError::new(
                    format!("ingest.receivers[{i}]"),
                    format!("{name:?} is listed twice"),
                ));
            } else if let Err(e) = crate::receivers::select(Some(std::slice::from_ref(name))) {
                errors.push(FieldError::new(
                    format!("ingest.receivers[{i}]"),
                    e.to_string(),
                ));
            }
        }
        self.limits.problems(errors);
        if self.retry_after < Duration::from_secs(1) {
            errors.push(FieldError::new(
                "ingest.retry_after",
                "must be at least 1s (Retry-After has whole seconds)",
            ));
        }
    }
}
