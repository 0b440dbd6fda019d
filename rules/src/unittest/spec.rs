//! promtool's rule unit-test file format.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A test file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct TestFile {
    /// Rule files (globs), relative to the test file.
    #[serde(default)]
    pub(super) rule_files: Vec<String>,
    /// How often the rules are evaluated (default `1m`).
    #[serde(default)]
    pub(super) evaluation_interval: Option<String>,
    /// Group names in the order to evaluate them.
    #[serde(default)]
    pub(super) group_eval_order: Vec<String>,
    /// The tests.
    #[serde(default)]
    pub(super) tests: Vec<TestGroup>,
}

/// One test: input series and what to expect of them.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct TestGroup {
    /// Distance between the input series' values.
    #[serde(default)]
    pub(super) interval: Option<String>,
    #[serde(default)]
    pub(super) input_series: Vec<InputSeries>,
    #[serde(default)]
    pub(super) alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    pub(super) promql_expr_test: Vec<PromqlTest>,
    #[serde(default)]
    pub(super) external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) external_url: String,
    #[serde(default)]
    pub(super) name: String,
}

/// A series and its values in the expanding notation (`0+10x5 _ stale`).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputSeries {
    pub(crate) series: String,
    pub(crate) values: String,
}

/// The alerts expected firing at a time.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertTest {
    pub(super) eval_time: String,
    #[serde(default)]
    pub(super) alertname: String,
    #[serde(default)]
    pub(super) exp_alerts: Vec<ExpectedAlert>,
}

/// One expected alert.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpectedAlert {
    #[serde(default)]
    pub(super) exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) exp_annotations: BTreeMap<String, String>,
}

/// A query and the samples expected at a time.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct PromqlTest {
    pub(super) expr: String,
    pub(super) eval_time: String,
    #[serde(default)]
    pub(super) exp_samples: Vec<ExpectedSample>,
}

/// One expected sample.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpectedSample {
    #[serde(default)]
    pub(super) labels: String,
    pub(super) value: f64,
}
