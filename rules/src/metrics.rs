//! The rule engine's own metrics, named after Prometheus's `prometheus_rule_*` so the same
//! dashboards and alerts read them (`rule_group` is `file;name`).

use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Counters and gauges per group.
#[derive(Debug, Clone)]
pub struct RuleMetrics {
    /// Seconds the last evaluation took.
    pub last_duration: GaugeVec,
    /// When it last ran (Unix seconds).
    pub last_evaluation: GaugeVec,
    /// Samples the last evaluation produced.
    pub last_samples: GaugeVec,
    /// Evaluations run.
    pub iterations: IntCounterVec,
    /// Evaluations skipped because the previous one ran past its slot.
    pub missed: IntCounterVec,
    /// Rule evaluations that failed.
    pub failures: IntCounterVec,
    /// Rules in the group.
    pub rules: GaugeVec,
    /// Evaluation time of whole groups.
    pub duration: HistogramVec,
}

impl RuleMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self::unregistered()?;
        registry.register(Box::new(m.last_duration.clone()))?;
        registry.register(Box::new(m.last_evaluation.clone()))?;
        registry.register(Box::new(m.last_samples.clone()))?;
        registry.register(Box::new(m.iterations.clone()))?;
        registry.register(Box::new(m.missed.clone()))?;
        registry.register(Box::new(m.failures.clone()))?;
        registry.register(Box::new(m.rules.clone()))?;
        registry.register(Box::new(m.duration.clone()))?;
        Ok(m)
    }

    /// The metrics, kept but not exported (tests, one-shot commands).
    pub fn unregistered() -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| GaugeVec::new(Opts::new(name, help), &["rule_group"]);
        let counter =
            |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), &["rule_group"]);
        Ok(Self {
            last_duration: gauge(
                "taishan_rule_group_last_duration_seconds",
                "Seconds the last evaluation of the rule group took.",
            )?,
            last_evaluation: gauge(
                "taishan_rule_group_last_evaluation_timestamp_seconds",
                "When the rule group was last evaluated (Unix seconds).",
            )?,
            last_samples: gauge(
                "taishan_rule_group_last_evaluation_samples",
                "Samples the rule group's last evaluation produced.",
            )?,
            iterations: counter(
                "taishan_rule_group_iterations_total",
                "Evaluations of the rule group.",
            )?,
            missed: counter(
                "taishan_rule_group_iterations_missed_total",
                "Evaluations skipped because the previous one was still running.",
            )?,
            failures: counter(
                "taishan_rule_evaluation_failures_total",
                "Rule evaluations that failed, by group.",
            )?,
            rules: gauge("taishan_rule_group_rules", "Rules in the rule group.")?,
            duration: HistogramVec::new(
                HistogramOpts::new(
                    "taishan_rule_group_duration_seconds",
                    "Time to evaluate a whole rule group.",
                )
                .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0]),
                &["rule_group"],
            )?,
        })
    }
}
