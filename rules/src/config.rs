//! `rules:` which rule files `taishan up` evaluates, and how (Prometheus's `rule_files`,
//! `global.evaluation_interval`, `external_labels` and `--rules.*` flags).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_core::config::{FieldError, Section};
use taishan_core::labels::is_valid_label_name;

/// The rule engine's settings.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule files and action files to load (globs such as `rules/*.yaml`; relative paths
    /// are taken from the working directory). Default: none.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Interval of groups that name none. Default `1m`.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub evaluation_interval: Duration,
    /// Evaluate the built-in demo rules (and their actions) while the demo runs. Default true.
    #[serde(default = "default_true")]
    pub demo_rules: bool,
    /// Labels alert templates see as `$externalLabels`. Default: none.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` of alert templates. Default: the UI's address.
    #[serde(default)]
    pub external_url: Option<String>,
    /// After a restart, `for` state older than this is not restored. Default `1h`.
    #[serde(default = "default_outage_tolerance", with = "humantime_serde")]
    pub outage_tolerance: Duration,
    /// A restored alert close to firing waits at least this long. Default `10m`.
    #[serde(default = "default_grace", with = "humantime_serde")]
    pub for_grace_period: Duration,
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_true() -> bool {
    true
}

fn default_outage_tolerance() -> Duration {
    Duration::from_secs(3600)
}

fn default_grace() -> Duration {
    Duration::from_secs(600)
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            evaluation_interval: default_interval(),
            demo_rules: true,
            external_labels: BTreeMap::new(),
            external_url: None,
            outage_tolerance: default_outage_tolerance(),
            for_grace_period: default_grace(),
        }
    }
}

impl Section for RulesConfig {
    const NAME: &'static str = "rules";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.evaluation_interval < Duration::from_millis(1) {
            errors.push(FieldError::new(
                "rules.evaluation_interval",
                "must be at least 1ms",
            ));
        }
        for name in self.external_labels.keys() {
            if !is_valid_label_name(name) {
                errors.push(FieldError::new(
                    format!("rules.external_labels.{name}"),
                    "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)",
                ));
            }
        }
        for (i, f) in self.files.iter().enumerate() {
            if f.as_os_str().is_empty() {
                errors.push(FieldError::new(
                    format!("rules.files[{i}]"),
                    "must not be empty",
                ));
            }
        }
    }
}
