//! `scrape:` Prometheus-style pulling of `/metrics` from static targets.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_core::config::{FieldError, Section};
use taishan_core::labels::is_valid_label_name;
use taishan_core::tenant::TenantId;

/// Scraping.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// Default interval between two scrapes of a target. Default `15s`.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Default time a scrape may take. Default `10s`; must not exceed the interval.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Whether `taishan up` scrapes its own `/metrics` (job `taishan`). Default `true`.
    #[serde(default = "default_true")]
    pub self_scrape: bool,
    /// Jobs of static targets.
    #[serde(default)]
    pub jobs: Vec<ScrapeJob>,
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_true() -> bool {
    true
}

fn default_metrics_path() -> String {
    "/metrics".to_string()
}

impl Default for ScrapeConfig {
    fn default() -> Self {
        Self {
            interval: default_interval(),
            timeout: default_timeout(),
            self_scrape: true,
            jobs: Vec::new(),
        }
    }
}

/// One job: targets scraped alike, labelled `job=<job_name>` and `instance=<target>`.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScrapeJob {
    /// The `job` label.
    pub job_name: String,
    /// `host:port` of each target.
    pub targets: Vec<String>,
    /// Overrides `scrape.interval`.
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Overrides `scrape.timeout`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Path of the exposition. Default `/metrics`.
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// Extra labels put on every scraped series.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Tenant the samples belong to. Default `default`.
    #[serde(default = "default_tenant")]
    pub tenant: String,
}

fn default_tenant() -> String {
    taishan_core::tenant::DEFAULT_TENANT.to_string()
}

impl ScrapeJob {
    /// The interval in force for this job.
    pub fn interval(&self, defaults: &ScrapeConfig) -> Duration {
        self.interval.unwrap_or(defaults.interval)
    }

    /// The timeout in force for this job.
    pub fn timeout(&self, defaults: &ScrapeConfig) -> Duration {
        self.timeout.unwrap_or(defaults.timeout)
    }
}

impl Section for ScrapeConfig {
    const NAME: &'static str = "scrape";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        check_interval_and_timeout(self.interval, self.timeout, "scrape", errors);
        let mut names = HashSet::new();
        for (i, job) in self.jobs.iter().enumerate() {
            let at = format!("scrape.jobs[{i}]");
            if job.job_name.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("{at}.job_name"),
                    "must not be empty",
                ));
            } else if !names.insert(job.job_name.as_str()) {
                errors.push(FieldError::new(
                    format!("{at}.job_name"),
                    format!("job {:?} is defined twice", job.job_name),
                ));
            }
            check_interval_and_timeout(job.interval(self), job.timeout(self), &at, errors);
            if job.targets.is_empty() {
                errors.push(FieldError::new(
                    format!("{at}.targets"),
                    "needs at least one host:port",
                ));
            }
            for (j, target) in job.targets.iter().enumerate() {
                if let Err(why) = check_target(target) {
                    errors.push(FieldError::new(format!("{at}.targets[{j}]"), why));
                }
            }
            if !job.metrics_path.starts_with('/') {
                errors.push(FieldError::new(
                    format!("{at}.metrics_path"),
                    "must start with /",
                ));
            }
            for name in job.labels.keys() {
                if !is_valid_label_name(name) || name.starts_with("__") {
                    errors.push(FieldError::new(
                        format!("{at}.labels.{name}"),
                        "label names must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __",
                    ));
                }
            }
            if let Err(e) = TenantId::new(&job.tenant) {
                errors.push(FieldError::new(format!("{at}.tenant"), e.to_string()));
            }
        }
    }
}

fn check_interval_and_timeout(
    interval: Duration,
    timeout: Duration,
    at: &str,
    errors: &mut Vec<FieldError>,
) {
    if interval < Duration::from_secs(1) {
        errors.push(FieldError::new(
            format!("{at}.interval"),
            "must be at least 1s",
        ));
    }
    if timeout.is_zero() {
        errors.push(FieldError::new(format!("{at}.timeout"), "must be above 0"));
    } else if timeout > interval {
        errors.push(FieldError::new(
            format!("{at}.timeout"),
            format!(
                "must not exceed the interval ({})",
                humantime::format_duration(interval)
            ),
        ));
    }
}

fn check_target(target: &str) -> Result<(), String> {
    let (host, port) = target
        .rsplit_once(':')
        .ok_or_else(|| format!("target {target:?} must be host:port"))?;
    if host.is_empty() || host.contains('/') {
        return Err(format!(
            "target {target:?} must be host:port (no scheme or path)"
        ));
    }
    port.parse::<u16>()
        .map_err(|_| format!("target {target:?} has an invalid port {port:?}"))?;
    Ok(())
}
