//! `query:` limits every PromQL query runs under (Prometheus's `--query.*` flags).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_core::config::{FieldError, Section};

/// Limits on one query.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// Longest a query may evaluate before it fails with `timeout`. Default `2m`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Most samples a query may hold in memory at once. Default 50,000,000.
    #[serde(default = "default_max_samples")]
    pub max_samples: usize,
    /// Most points a range query may return per series. Default 11,000.
    #[serde(default = "default_max_points")]
    pub max_points_per_series: i64,
    /// How far back an instant selector looks for a sample. Default `5m`.
    #[serde(default = "default_lookback", with = "humantime_serde")]
    pub lookback_delta: Duration,
    /// Queries evaluated at once; up to four times as many wait, the rest get 503. Default 20.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: usize,
    /// Queries one tenant may have running or waiting; beyond it, 429. `0`: only
    /// `max_concurrency` applies. Default 10.
    #[serde(default = "default_max_concurrency_per_tenant")]
    pub max_concurrency_per_tenant: usize,
}

fn default_max_concurrency_per_tenant() -> usize {
    10
}

fn default_max_concurrency() -> usize {
    20
}

fn default_timeout() -> Duration {
    Duration::from_secs(120)
}

fn default_max_samples() -> usize {
    50_000_000
}

fn default_max_points() -> i64 {
    11_000
}

fn default_lookback() -> Duration {
    Duration::from_secs(300)
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            max_samples: default_max_samples(),
            max_points_per_series: default_max_points(),
            lookback_delta: default_lookback(),
            max_concurrency: default_max_concurrency(),
            max_concurrency_per_tenant: default_max_concurrency_per_tenant(),
        }
    }
}

impl Section for QueryConfig {
    const NAME: &'static str = "query";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.timeout < Duration::from_millis(1) {
            errors.push(FieldError::new("query.timeout", "must be at least 1ms"));
        }
        if self.max_samples == 0 {
            errors.push(FieldError::new("query.max_samples", "must be above 0"));
        }
        if self.max_points_per_series < 1 {
            errors.push(FieldError::new(
                "query.max_points_per_series",
                "must be above 0",
            ));
        }
        if self.max_concurrency == 0 {
            errors.push(FieldError::new("query.max_concurrency", "must be above 0"));
        }
        if self.lookback_delta < Duration::from_millis(1) {
            errors.push(FieldError::new(
                "query.lookback_delta",
                "must be at least 1ms",
            ));
        }
    }
}
