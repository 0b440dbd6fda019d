//! `analyzer:` the series the anomaly detectors watch, and how often they score them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use taishan_core::config::{FieldError, Section};

/// The analyzer inside `taishan up`.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerConfig {
    /// How often every watch is queried and its series scored. Default `15s`.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Most series watched at once, over all watches (each holds a detector of ≤ 8 KB).
    /// Series beyond it are refused and counted. Default 10000.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// A series absent from its watch's answers this long is forgotten. Default `1h`.
    #[serde(default = "default_forget_after", with = "humantime_serde")]
    pub forget_after: Duration,
    /// What is watched. Default: none (the demo adds its own).
    #[serde(default)]
    pub watch: Vec<WatchConfig>,
}

/// One watch: a PromQL query whose every series gets its own detector.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Its name, the `watch` label of the score series.
    pub name: String,
    /// PromQL returning an instant vector: a selector (`http_requests_total{job="api"}`) or
    /// any expression (`sum by (channel) (rate(payments_total[1m]))`).
    pub query: String,
    /// The detector and its parameters (`type: ensemble`, `level`, `seasonal` or
    /// `mixture`); default: the ensemble.
    #[serde(default)]
    pub detector: Option<serde_yaml_ng::Value>,
    /// Also write each series' seasonal forecast this far ahead (`taishan_forecast` and its
    /// `_lower` / `_upper`, label `horizon`), e.g. `1h`. Default: none.
    #[serde(default, with = "humantime_serde")]
    pub forecast: Option<Duration>,
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_max_series() -> usize {
    10_000
}

fn default_forget_after() -> Duration {
    Duration::from_secs(3600)
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            interval: default_interval(),
            max_series: default_max_series(),
            forget_after: default_forget_after(),
            watch: Vec::new(),
        }
    }
}

impl Section for AnalyzerConfig {
    const NAME: &'static str = "analyzer";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.interval < Duration::from_secs(1) {
            errors.push(FieldError::new("analyzer.interval", "must be at least 1s"));
        }
        if self.max_series == 0 {
            errors.push(FieldError::new("analyzer.max_series", "must be at least 1"));
        }
        for (i, w) in self.watch.iter().enumerate() {
            let at = |field: &str| format!("analyzer.watch[{i}].{field}");
            let valid_name = !w.name.is_empty()
                && w.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                errors.push(FieldError::new(
                    at("name"),
                    "must be letters, digits, `_` or `-`",
                ));
            } else if self.watch[..i].iter().any(|o| o.name == w.name) {
                errors.push(FieldError::new(at("name"), "is used by another watch"));
            }
            if w.query.trim().is_empty() {
                errors.push(FieldError::new(at("query"), "must be a PromQL query"));
            } else if let Err(why) = instant_vector_query(&w.query) {
                errors.push(FieldError::new(at("query"), why));
            }
            if let Err(e) = crate::Watch::from_config(w) {
                errors.push(FieldError::new(at("detector"), e));
            }
        }
    }
}

/// Whether `query` parses as PromQL giving one value per series (a vector or a scalar).
fn instant_vector_query(query: &str) -> Result<(), String> {
    use promql_parser::parser::value::ValueType;
    let expr = taishan_query::Engine::parse(query).map_err(|e| e.to_string())?;
    match expr.value_type() {
        ValueType::Vector | ValueType::Scalar => Ok(()),
        _ => Err("must give an instant vector (a range vector has no one value per series)".into()),
    }
}
