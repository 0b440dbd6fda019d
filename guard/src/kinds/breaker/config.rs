//! When a breaker opens and how it recovers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A circuit breaker's thresholds. Any of the three trip conditions may be turned off; at
/// least one must stay on.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// How far back the ratios look. Default `10s`.
    #[serde(default = "default_window", with = "humantime_serde")]
    pub window: Duration,
    /// Calls the window must hold before a ratio can open the breaker. Default 20.
    #[serde(default = "default_min_calls")]
    pub min_calls: u32,
    /// Open when at least this share of calls in the window failed (0 < r ≤ 1); `null` turns
    /// the check off. Default 0.5.
    #[serde(default = "default_failure_ratio")]
    pub failure_ratio: Option<f64>,
    /// Open when at least this share of calls in the window were slow (0 < r ≤ 1); `null`
    /// turns the check off. Default 0.8.
    #[serde(default = "default_slow_call_ratio")]
    pub slow_call_ratio: Option<f64>,
    /// A call taking at least this long is slow. Default `1s`.
    #[serde(default = "default_slow_call_duration", with = "humantime_serde")]
    pub slow_call_duration: Duration,
    /// Open after this many failures in a row, whatever the window holds; `null` turns the
    /// check off. Default 10.
    #[serde(default = "default_consecutive_failures")]
    pub consecutive_failures: Option<u32>,
    /// How long the breaker stays open before probing. Default `5s`.
    #[serde(default = "default_open_for", with = "humantime_serde")]
    pub open_for: Duration,
    /// Probe calls admitted while half-open; all must succeed to close. Default 3.
    #[serde(default = "default_half_open_probes")]
    pub half_open_probes: u32,
}

fn default_window() -> Duration {
    Duration::from_secs(10)
}
fn default_min_calls() -> u32 {
    20
}
fn default_failure_ratio() -> Option<f64> {
    Some(0.5)
}
fn default_slow_call_ratio() -> Option<f64> {
    Some(0.8)
}
fn default_slow_call_duration() -> Duration {
    Duration::from_secs(1)
}
fn default_consecutive_failures() -> Option<u32> {
    Some(10)
}
fn default_open_for() -> Duration {
    Duration::from_secs(5)
}
fn default_half_open_probes() -> u32 {
    3
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: default_window(),
            min_calls: default_min_calls(),
            failure_ratio: default_failure_ratio(),
            slow_call_ratio: default_slow_call_ratio(),
            slow_call_duration: default_slow_call_duration(),
            consecutive_failures: default_consecutive_failures(),
            open_for: default_open_for(),
            half_open_probes: default_half_open_probes(),
        }
    }
}

impl BreakerConfig {
    /// Every problem, as `field: what is allowed`.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.window < Duration::from_millis(100) {
            problems.push("window: must be at least 100ms".to_string());
        }
        for (field, ratio) in [
            ("failure_ratio", self.failure_ratio),
            ("slow_call_ratio", self.slow_call_ratio),
        ] {
            if let Some(r) = ratio {
                if !(r > 0.0 && r <= 1.0) {
                    problems.push(format!(
                        "{field}: must be in (0, 1] or null to turn it off, got {r}"
                    ));
                }
            }
        }
        if self.consecutive_failures == Some(0) {
            problems.push(
                "consecutive_failures: must be at least 1, or null to turn it off".to_string(),
            );
        }
        if self.failure_ratio.is_none()
            && self.slow_call_ratio.is_none()
            && self.consecutive_failures.is_none()
        {
            problems.push(
                "failure_ratio, slow_call_ratio, consecutive_failures: at least one must be set"
                    .to_string(),
            );
        }
        if self.open_for.is_zero() {
            problems.push("open_for: must be more than 0s".to_string());
        }
        if self.half_open_probes == 0 {
            problems.push("half_open_probes: must be at least 1".to_string());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(BreakerConfig::default().validate().is_empty());
        let bad = BreakerConfig {
            failure_ratio: Some(1.5),
            consecutive_failures: Some(0),
            half_open_probes: 0,
            ..Default::default()
        };
        let problems = bad.validate();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("failure_ratio:"));
    }
}
