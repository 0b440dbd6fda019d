//! The rule file's shape as YAML, before its values are checked. Each group and each rule
//! is read on its own, so one bad rule does not hide the problems of the others.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::Value;

use super::Problem;

/// The top level: only `groups`, as in Prometheus.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) groups: Vec<Value>,
}

/// One group.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    #[serde(default)]
    pub(super) name: Scalar,
    #[serde(default)]
    pub(super) interval: Option<Scalar>,
    #[serde(default)]
    pub(super) limit: Option<i64>,
    #[serde(default)]
    pub(super) query_offset: Option<Scalar>,
    /// Taishan's addition: the tenant the group evaluates within.
    #[serde(default)]
    pub(super) tenant: Option<Scalar>,
    #[serde(default)]
    pub(super) rules: Vec<Value>,
}

/// One rule.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    #[serde(default)]
    pub(super) record: Option<Scalar>,
    #[serde(default)]
    pub(super) alert: Option<Scalar>,
    #[serde(default)]
    pub(super) expr: Option<Scalar>,
    #[serde(default, rename = "for")]
    pub(super) hold: Option<Scalar>,
    #[serde(default)]
    pub(super) keep_firing_for: Option<Scalar>,
    #[serde(default)]
    pub(super) labels: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub(super) annotations: Option<BTreeMap<String, Scalar>>,
}

/// A YAML scalar read as text whatever its type (`expr: 1`, `severity: 2`), as Prometheus's
/// YAML decoder does for string fields.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Scalar(pub(super) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Scalar(s)),
            Value::Number(n) => Ok(Scalar(n.to_string())),
            Value::Bool(b) => Ok(Scalar(b.to_string())),
            Value::Null => Ok(Scalar(String::new())),
            other => Err(serde::de::Error::custom(format!(
                "expected a string, got {}",
                kind(&other)
            ))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Deserializes `value` found at `path`, or records why not (at the failing field).
pub(super) fn read<T: DeserializeOwned>(
    value: Value,
    path: &str,
    context: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() {
                path.to_string()
            } else if path.is_empty() {
                inner
            } else {
                format!("{path}.{inner}")
            };
            problems.push(Problem {
                path: full,
                context: context.to_string(),
                message: e.into_inner().to_string(),
            });
            None
        }
    }
}
