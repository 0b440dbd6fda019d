//! From OTLP attributes to Prometheus series: resource labels (`job`, `instance`,
//! `target_info`), data point labels, and a builder that gathers samples by series.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use taishan_core::{Labels, Sample, SeriesSamples};

use super::metrics::Converted;
use super::naming::sanitize_label_name;

/// Resource attributes as labels: `job` and `instance` for every series, the rest for
/// `target_info`.
pub(super) struct ResourceLabels {
    pub(super) base: Vec<(String, String)>,
    pub(super) info: Vec<(String, String)>,
}

impl ResourceLabels {
    pub(super) fn of(attrs: &[KeyValue]) -> Self {
        let get = |k: &str| {
            attrs
                .iter()
                .find(|a| a.key == k)
                .map(|a| any_to_string(a.value.as_ref()))
        };
        let mut base = Vec::new();
        if let Some(name) = get("service.name") {
            let job = match get("service.namespace") {
                Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
                _ => name,
            };
            base.push(("job".to_string(), job));
        }
        if let Some(id) = get("service.instance.id") {
            base.push(("instance".to_string(), id));
        }
        let info = attrs
            .iter()
            .filter(|a| {
                !matches!(
                    a.key.as_str(),
                    "service.name" | "service.namespace" | "service.instance.id"
                )
            })
            .map(|a| (sanitize_label_name(&a.key), any_to_string(a.value.as_ref())))
            .collect();
        Self { base, info }
    }
}

/// Data point attributes as label pairs; keys that sanitize alike have their values joined
/// with `;` (as the conventions say), in key order.
pub(super) fn attribute_pairs(attrs: &[KeyValue]) -> Vec<(String, String)> {
    let mut sorted: Vec<(&str, String)> = attrs
        .iter()
        .map(|a| (a.key.as_str(), any_to_string(a.value.as_ref())))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<(String, String)> = Vec::with_capacity(sorted.len());
    for (k, v) in sorted {
        let name = sanitize_label_name(k);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(';');
                existing.push_str(&v);
            }
            None => out.push((name, v)),
        }
    }
    out
}

/// An attribute value as text.
pub fn any_to_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => format!("{d}"),
        Some(any_value::Value::BytesValue(b)) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Some(any_value::Value::ArrayValue(a)) => {
            let items: Vec<String> = a.values.iter().map(|v| any_to_string(Some(v))).collect();
            format!("[{}]", items.join(","))
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|e| format!("{}={}", e.key, any_to_string(e.value.as_ref())))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Some(_) => String::new(),
    }
}

/// Gathers samples by series, validating label sets once per series.
#[derive(Default)]
pub(super) struct Builder {
    index: HashMap<Labels, usize>,
    series: Vec<SeriesSamples>,
}

impl Builder {
    pub(super) fn labels(
        &mut self,
        out: &mut Converted,
        pairs: &[(String, String)],
    ) -> Option<Labels> {
        let mut refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match Labels::from_strs(&mut refs) {
            Ok(l) => Some(l),
            Err(e) => {
                out.reject(1, format!("invalid series: {e}"));
                None
            }
        }
    }

    pub(super) fn push(
        &mut self,
        out: &mut Converted,
        pairs: Vec<(String, String)>,
        t: i64,
        v: f64,
    ) {
        if let Some(labels) = self.labels(out, &pairs) {
            self.push_labels(labels, t, v);
        }
    }

    pub(super) fn push_labels(&mut self, labels: Labels, t: i64, v: f64) {
        let i = match self.index.get(&labels) {
            Some(&i) => i,
            None => {
                self.index.insert(labels.clone(), self.series.len());
                self.series.push(SeriesSamples {
                    labels,
                    samples: Default::default(),
                });
                self.series.len() - 1
            }
        };
        self.series[i].samples.push(Sample::new(t, v));
    }

    pub(super) fn finish(self) -> Vec<SeriesSamples> {
        self.series
            .into_iter()
            .map(|mut s| {
                // Points of one series may come in any order within a request.
                s.samples.sort_by_key(|x| x.timestamp_ms);
                s.samples.dedup_by_key(|x| x.timestamp_ms);
                s
            })
            .collect()
    }
}
