//! Cardinality statistics for `/api/v1/status/tsdb`: which metrics, labels and label pairs
//! hold the most series.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};
use taishan_core::{TenantId, METRIC_NAME};
use taishan_store::Tsdb;

/// The statistics of `tenant`'s series, the top `limit` of each list.
pub fn stats(db: &Tsdb, tenant: &TenantId, limit: usize) -> Value {
    let series = db.series(tenant, &[], i64::MIN, i64::MAX);
    let mut by_metric: HashMap<&str, u64> = HashMap::new();
    let mut values_by_name: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut bytes_by_name: HashMap<&str, u64> = HashMap::new();
    let mut by_pair: HashMap<(&str, &str), u64> = HashMap::new();
    let mut pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    for labels in &series {
        for l in labels.iter() {
            if l.name == METRIC_NAME {
                *by_metric.entry(l.value).or_default() += 1;
            }
            if values_by_name.entry(l.name).or_default().insert(l.value) {
                *bytes_by_name.entry(l.name).or_default() += l.value.len() as u64;
            }
            *by_pair.entry((l.name, l.value)).or_default() += 1;
            pairs.insert((l.name, l.value));
        }
    }
    let top = |mut v: Vec<(String, u64)>| -> Value {
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(limit);
        Value::Array(
            v.into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect(),
        )
    };
    json!({
        "headStats": {
            "numSeries": db.head_series(),
            "numLabelPairs": pairs.len(),
            "chunkCount": 0,
            "minTime": 0,
            "maxTime": 0,
        },
        "seriesCountByMetricName": top(by_metric.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        "labelValueCountByLabelName": top(values_by_name.into_iter().map(|(k, v)| (k.to_string(), v.len() as u64)).collect()),
        "memoryInBytesByLabelName": top(bytes_by_name.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        "seriesCountByLabelValuePair": top(by_pair.into_iter().map(|((n, v), c)| (format!("{n}={v}"), c)).collect()),
    })
}
