//! A simulated bank channel's behaviour: how fast and how reliably it moves money. The demo
//! configures its channels with it (`demo.channels`), and bank faults alter it while armed
//! ([`crate::FaultSet::bank_channel`]), which is why it lives here, below the services.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use taishan_core::config::FieldError;

/// A simulated bank channel: how fast and how reliably it moves money. Every setting can be
/// changed while running through the channel's `faults` endpoint.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChannelProfile {
    /// The channel's name (`bank-a`): its ledger account is `bank:<name>`.
    pub name: String,
    /// Routing preference; higher is tried first. Default 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Typical time to accept a transfer. Default `40ms`.
    #[serde(default = "default_latency", with = "humantime_serde")]
    pub latency: Duration,
    /// Typical time from acceptance to the final result. Default `300ms`.
    #[serde(default = "default_settle_after", with = "humantime_serde")]
    pub settle_after: Duration,
    /// Share of transfers refused before acceptance (HTTP 503). Default 0.005.
    #[serde(default = "default_error_rate")]
    pub error_rate: f64,
    /// Share of transfers accepted so slowly that the caller times out. Default 0.002.
    #[serde(default = "default_timeout_rate")]
    pub timeout_rate: f64,
    /// Share of accepted transfers that end failed (account closed, limits). Default 0.01.
    #[serde(default = "default_failure_rate")]
    pub failure_rate: f64,
    /// Extra delay before the result callback. Default `0s`.
    #[serde(default, with = "humantime_serde")]
    pub callback_delay: Duration,
    /// Share of result callbacks never sent. Default 0.002.
    #[serde(default = "default_callback_loss_rate")]
    pub callback_loss_rate: f64,
    /// Share of result callbacks sent twice. Default 0.01.
    #[serde(default = "default_callback_duplicate_rate")]
    pub callback_duplicate_rate: f64,
}

fn default_weight() -> u32 {
    1
}
fn default_latency() -> Duration {
    Duration::from_millis(40)
}
fn default_settle_after() -> Duration {
    Duration::from_millis(300)
}
fn default_error_rate() -> f64 {
    0.005
}
fn default_timeout_rate() -> f64 {
    0.002
}
fn default_failure_rate() -> f64 {
    0.01
}
fn default_callback_loss_rate() -> f64 {
    0.002
}
fn default_callback_duplicate_rate() -> f64 {
    0.01
}

impl ChannelProfile {
    /// A channel named `name` with the default behaviour.
    pub fn named(name: &str, weight: u32) -> Self {
        Self {
            name: name.into(),
            weight,
            latency: default_latency(),
            settle_after: default_settle_after(),
            error_rate: default_error_rate(),
            timeout_rate: default_timeout_rate(),
            failure_rate: default_failure_rate(),
            callback_delay: Duration::ZERO,
            callback_loss_rate: default_callback_loss_rate(),
            callback_duplicate_rate: default_callback_duplicate_rate(),
        }
    }

    /// A channel that never fails, loses or repeats anything (tests).
    pub fn reliable(name: &str, weight: u32) -> Self {
        Self {
            error_rate: 0.0,
            timeout_rate: 0.0,
            failure_rate: 0.0,
            callback_loss_rate: 0.0,
            callback_duplicate_rate: 0.0,
            latency: Duration::from_millis(1),
            settle_after: Duration::from_millis(5),
            ..Self::named(name, weight)
        }
    }

    /// Every problem, with `path` (e.g. `demo.channels[0]`) in front of each field.
    pub fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 40
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            errors.push(FieldError::new(
                format!("{path}.name"),
                "must be 1–40 of a-z 0-9 -",
            ));
        }
        for (field, rate) in [
            ("error_rate", self.error_rate),
            ("timeout_rate", self.timeout_rate),
            ("failure_rate", self.failure_rate),
            ("callback_loss_rate", self.callback_loss_rate),
            ("callback_duplicate_rate", self.callback_duplicate_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                errors.push(FieldError::new(
                    format!("{path}.{field}"),
                    format!("must be a share between 0 and 1, got {rate}"),
                ));
            }
        }
        if self.latency > Duration::from_secs(60) || self.settle_after > Duration::from_secs(600) {
            errors.push(FieldError::new(
                format!("{path}.latency"),
                "latency must be at most 60s and settle_after at most 10m",
            ));
        }
    }
}
