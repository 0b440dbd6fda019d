//! The values a template works with, and how Go would print, test and index them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::go_fmt::format_g;
use super::go_time::{FieldValue, GoTime};

/// One sample of a `query` result inside a template.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// Its labels, `__name__` included.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A value during expansion, mirroring the Go types Prometheus hands its templates.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Go's untyped nil (a missing map entry of `args`, an unset variable).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer constant.
    Int(i64),
    /// A float64 (`$value`, function results).
    Float(f64),
    /// A string.
    Str(String),
    /// `safeHtml` output: printed as is.
    Html(String),
    /// A `map[string]string` (`$labels`, `$externalLabels`).
    StrMap(Arc<BTreeMap<String, String>>),
    /// A `map[string]interface{}` (from `args`).
    Map(BTreeMap<String, Value>),
    /// The alert's data: `.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`.
    Struct(Arc<Vec<(&'static str, Value)>>),
    /// A `query` result.
    Samples(Vec<QuerySample>),
    /// One element of a `query` result.
    Sample(Box<QuerySample>),
    /// A point in time (`toTime`, an alert's `.StartsAt`).
    Time(GoTime),
    /// A list (`[]string`, from `stringSlice`, `.Names`, `.Values`).
    List(Arc<Vec<Value>>),
    /// Alertmanager's `KV`: a label map with the methods `SortedPairs`, `Names`, `Values`
    /// and `Remove`.
    Kv(Arc<BTreeMap<String, String>>),
    /// Alertmanager's `Pairs`: name/value pairs sorted by name, with `Names` and `Values`.
    Pairs(Arc<Vec<(String, String)>>),
    /// Alertmanager's `Alerts`: a list of alerts with `Firing` and `Resolved`.
    Alerts(Arc<Vec<Value>>),
}

impl From<FieldValue> for Value {
    fn from(v: FieldValue) -> Self {
        match v {
            FieldValue::Int(i) => Value::Int(i),
            FieldValue::Bool(b) => Value::Bool(b),
            FieldValue::Str(s) => Value::Str(s),
            FieldValue::Time(t) => Value::Time(t),
        }
    }
}

impl Value {
    /// The Go type name, for `printf` mismatches.
    pub(crate) fn go_type(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::StrMap(_) => "map[string]string",
            Value::Map(_) => "map[string]interface {}",
            Value::Struct(_) => "struct",
            Value::Samples(_) => "template.queryResult",
            Value::Sample(_) => "*template.sample",
            Value::Time(_) => "*time.Time",
            Value::List(_) => "[]string",
            Value::Kv(_) => "template.KV",
            Value::Pairs(_) => "template.Pairs",
            Value::Alerts(_) => "template.Alerts",
        }
    }

    /// How `{{ . }}` prints it (Go's `fmt.Sprint`).
    pub fn print(&self) -> String {
        match self {
            Value::Nil => "<no value>".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_g(*f, None),
            Value::Str(s) | Value::Html(s) => s.clone(),
            Value::StrMap(m) => print_map(m.iter().map(|(k, v)| (k.as_str(), v.clone()))),
            Value::Map(m) => print_map(m.iter().map(|(k, v)| (k.as_str(), v.print()))),
            Value::Struct(fields) => {
                let parts: Vec<String> = fields.iter().map(|(_, v)| v.print()).collect();
                format!("{{{}}}", parts.join(" "))
            }
            Value::Samples(s) => {
                let parts: Vec<String> = s.iter().map(print_sample).collect();
                format!("[{}]", parts.join(" "))
            }
            Value::Sample(s) => print_sample(s),
            Value::Time(t) => t.to_string(),
            Value::List(v) | Value::Alerts(v) => {
                let parts: Vec<String> = v.iter().map(Value::print).collect();
                format!("[{}]", parts.join(" "))
            }
            Value::Kv(m) => print_map(m.iter().map(|(k, v)| (k.as_str(), v.clone()))),
            Value::Pairs(p) => {
                let parts: Vec<String> = p.iter().map(|(n, v)| format!("{{{n} {v}}}")).collect();
                format!("[{}]", parts.join(" "))
            }
        }
    }

    /// Go's truth in `if`, `with`, `and`, `or`, `not`: zero values and empty collections
    /// are false.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Samples(s) => !s.is_empty(),
            Value::Struct(_) | Value::Sample(_) | Value::Time(_) => true,
            Value::List(v) | Value::Alerts(v) => !v.is_empty(),
            Value::Kv(m) => !m.is_empty(),
            Value::Pairs(p) => !p.is_empty(),
        }
    }

    /// `.name` on this value.
    pub(crate) fn field(&self, name: &str) -> Result<Value, String> {
        match self {
            Value::Struct(fields) => fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("can't evaluate field {name} in type struct")),
            // Prometheus expands with missingkey=zero: an absent label reads as "".
            Value::StrMap(m) => Ok(Value::Str(m.get(name).cloned().unwrap_or_default())),
            Value::Map(m) => Ok(m.get(name).cloned().unwrap_or(Value::Nil)),
            Value::Sample(s) => match name {
                "Labels" => Ok(Value::StrMap(Arc::new(s.labels.clone()))),
                "Value" => Ok(Value::Float(s.value)),
                _ => Err(format!(
                    "can't evaluate field {name} in type *template.sample"
                )),
            },
            Value::Time(t) => t
                .field(name)
                .map(Value::from)
                .ok_or_else(|| format!("can't evaluate field {name} in type *time.Time")),
            Value::Kv(_) | Value::Pairs(_) | Value::Alerts(_) => {
                super::collections::field(self, name)
            }
            Value::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
            other => Err(format!(
                "can't evaluate field {name} in type {}",
                other.go_type()
            )),
        }
    }

    /// The number in it, as Prometheus's `convertToFloat` reads it (strings are parsed).
    pub(crate) fn to_float(&self) -> Result<f64, String> {
        match self {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Str(s) => parse_go_float(s),
            other => Err(format!("can't convert {} to float", other.go_type())),
        }
    }

    /// The string in it, for functions that take a string.
    pub(crate) fn to_str(&self, what: &str) -> Result<String, String> {
        match self {
            Value::Str(s) | Value::Html(s) => Ok(s.clone()),
            other => Err(format!(
                "wrong type for value; expected string; got {} (in {what})",
                other.go_type()
            )),
        }
    }
}

fn print_map<'a>(entries: impl Iterator<Item = (&'a str, String)>) -> String {
    let parts: Vec<String> = entries.map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", parts.join(" "))
}

fn print_sample(s: &QuerySample) -> String {
    let labels = print_map(s.labels.iter().map(|(k, v)| (k.as_str(), v.clone())));
    format!("&{{{labels} {}}}", format_g(s.value, None))
}

/// `strconv.ParseFloat(s, 64)`, with its error text.
pub(crate) fn parse_go_float(s: &str) -> Result<f64, String> {
    let t = s.trim_start_matches('+');
    let parsed = match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ if t.is_empty() || t.contains(|c: char| c.is_whitespace()) => None,
        _ => t.replace('_', "").parse::<f64>().ok(),
    };
    parsed.ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
}
