//! `demo:` the financial services `taishan up` runs beneath the platform, and their traffic.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_chaos::ChannelProfile;
use taishan_core::config::{FieldError, Section};

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

impl Section for DemoConfig {
    const NAME: &'static str = "demo";

    fn validate(&self, errors: &mut Vec<FieldError>) {
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
    use super::DemoConfig;
    use taishan_core::config::load_section;

    #[test]
    fn every_bad_demo_field_is_named_with_its_line() {
        let text = "demo:\n  base_port: 65530\n  traffic:\n    rate: -1\n    peak_hour_utc: 24\n  channels:\n    - name: Bank A\n      error_rate: 1.5\n    - name: bank-b\n    - name: bank-b\n";
        let errors = load_section::<DemoConfig>("t.yaml", text).unwrap_err();
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
        let errors = load_section::<DemoConfig>(
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
