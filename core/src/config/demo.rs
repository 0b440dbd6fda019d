//! `demo:` the financial services `taishan up` runs beneath the platform, and their traffic.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The demo services and the traffic driving them.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// Run the services and the traffic (`taishan up --no-demo` turns them off). Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Address the services listen on. Default `127.0.0.1`.
    #[serde(default = "default_listen")]
    pub listen: IpAddr,
    /// First of the consecutive ports the services take (gateway first); `0` picks free
    /// ports. Default 7100.
    #[serde(default = "default_base_port")]
    pub base_port: u16,
    /// Requests per second the gateway lets each API key make (bursts of twice that).
    /// Default 100.
    #[serde(default = "default_gateway_rate")]
    pub gateway_rate_per_key: f64,
    /// How often the services export their metrics to Taishan. Default `10s`.
    #[serde(default = "default_metrics_interval", with = "humantime_serde")]
    pub metrics_interval: Duration,
    /// The simulated customers.
    #[serde(default)]
    pub traffic: TrafficConfig,
    /// The bank channels payments go through. Default: `bank-a`, `bank-b`, `bank-c`.
    #[serde(default = "default_channels")]
    pub channels: Vec<ChannelProfile>,
    /// Run the compensation worker, which posts final payments to the ledger and resolves
    /// those left unknown. Default true; `false` shows (and drills prove) what goes wrong
    /// without it.
    #[serde(default = "default_true")]
    pub compensation: bool,
}

/// How many customers act, and when.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    /// Customer actions per second at the daily average. Default 4.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// How far the rate swings over the day, 0 (flat) to 1 (zero at night). Default 0.6.
    #[serde(default = "default_amplitude")]
    pub daily_amplitude: f64,
    /// Hour of the day (UTC, 0–23) when traffic peaks. Default 6 (14:00 in Beijing).
    #[serde(default = "default_peak_hour")]
    pub peak_hour_utc: u8,
    /// Customers in the simulated population. Default 2000.
    #[serde(default = "default_customers")]
    pub customers: u32,
    /// Seed of the random choices; unset: a different run each time.
    #[serde(default)]
    pub seed: Option<u64>,
}

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

fn default_true() -> bool {
    true
}
fn default_listen() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}
fn default_base_port() -> u16 {
    7100
}
fn default_gateway_rate() -> f64 {
    100.0
}
fn default_metrics_interval() -> Duration {
    Duration::from_secs(5)
}
fn default_rate() -> f64 {
    4.0
}
fn default_amplitude() -> f64 {
    0.6
}
fn default_peak_hour() -> u8 {
    6
}
fn default_customers() -> u32 {
    2000
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

fn default_channels() -> Vec<ChannelProfile> {
    vec![
        ChannelProfile::named("bank-a", 3),
        ChannelProfile::named("bank-b", 2),
        ChannelProfile::named("bank-c", 1),
    ]
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            rate: default_rate(),
            daily_amplitude: default_amplitude(),
            peak_hour_utc: default_peak_hour(),
            customers: default_customers(),
            seed: None,
        }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: default_listen(),
            base_port: default_base_port(),
            gateway_rate_per_key: default_gateway_rate(),
            metrics_interval: default_metrics_interval(),
            traffic: TrafficConfig::default(),
            compensation: true,
            channels: default_channels(),
        }
    }
}

impl DemoConfig {
    pub(super) fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.metrics_interval < Duration::from_millis(100) {
            errors.push(FieldError::new(
                "demo.metrics_interval",
                "must be at least 100ms",
            ));
        }
        let t = &self.traffic;
        if !(t.rate.is_finite() && (0.0..=10_000.0).contains(&t.rate)) {
            errors.push(FieldError::new(
                "demo.traffic.rate",
                format!(
                    "must be between 0 and 10000 actions per second, got {}",
                    t.rate
                ),
            ));
        }
        if !(0.0..=1.0).contains(&t.daily_amplitude) {
            errors.push(FieldError::new(
                "demo.traffic.daily_amplitude",
                format!("must be between 0 and 1, got {}", t.daily_amplitude),
            ));
        }
        if t.peak_hour_utc > 23 {
            errors.push(FieldError::new(
                "demo.traffic.peak_hour_utc",
                format!("must be an hour 0–23, got {}", t.peak_hour_utc),
            ));
        }
        if !(self.gateway_rate_per_key.is_finite()
            && self.gateway_rate_per_key > 0.0
            && self.gateway_rate_per_key <= 1e6)
        {
            errors.push(FieldError::new(
                "demo.gateway_rate_per_key",
                format!(
                    "must be in (0, 1000000] requests per second, got {}",
                    self.gateway_rate_per_key
                ),
            ));
        }
        if t.customers == 0 {
            errors.push(FieldError::new(
                "demo.traffic.customers",
                "must be at least 1",
            ));
        }
        if self.channels.is_empty() {
            errors.push(FieldError::new(
                "demo.channels",
                "at least one bank channel is needed",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.channels.iter().enumerate() {
            c.validate(&format!("demo.channels[{i}]"), errors);
            if !seen.insert(c.name.as_str()) {
                errors.push(FieldError::new(
                    format!("demo.channels[{i}].name"),
                    format!("channel {:?} is listed twice", c.name),
                ));
            }
        }
        if self.base_port > u16::MAX - 16 {
            errors.push(FieldError::new(
                "demo.base_port",
                format!(
                    "the services, the demo pager and the payment→ledger fault proxy need 11 ports from base_port; must be at most {}",
                    u16::MAX - 16
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn every_bad_demo_field_is_named_with_its_line() {
        let text = "demo:\n  base_port: 65530\n  traffic:\n    rate: -1\n    peak_hour_utc: 24\n  channels:\n    - name: Bank A\n      error_rate: 1.5\n    - name: bank-b\n    - name: bank-b\n";
        let errors = Config::load_str("t.yaml", text).unwrap_err();
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "demo.traffic.rate",
                "demo.traffic.peak_hour_utc",
                "demo.channels[0].name",
                "demo.channels[0].error_rate",
                "demo.channels[2].name",
                "demo.base_port",
            ],
            "{errors:?}"
        );
        assert!(errors.iter().all(|e| e.position.is_some()), "{errors:?}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let errors = Config::load_str(
            "t.yaml",
            "demo:\n  channels:\n    - name: a\n      speed: 3\n",
        )
        .unwrap_err();
        assert!(
            errors[0].message.contains("unknown field `speed`"),
            "{errors:?}"
        );
    }
}
