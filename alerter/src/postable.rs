//! Alerts as clients post them (`POST /api/v2/alerts`, Alertmanager's `postableAlert`),
//! checked one by one: a malformed alert is refused with its index and reason while the
//! others of the same request are taken.

use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;

use crate::model::{Alert, LabelSet};
use crate::timefmt::parse_time;

/// One alert as posted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// Its identity; at least one pair.
    pub labels: LabelSet,
    /// What it says.
    #[serde(default)]
    pub annotations: LabelSet,
    /// RFC 3339; now when absent.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339; `resolve_timeout` from now when absent.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Where it came from.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
}

/// Why one posted alert was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert {index}: {reason}")]
pub struct InvalidAlert {
    /// Its position in the request.
    pub index: usize,
    /// What is wrong.
    pub reason: String,
}

/// Reads a request body: the alerts that are well formed, and why the others are not.
/// A body that is not a JSON array is one error at index 0.
pub fn parse_alerts(
    body: &[u8],
    now_ms: i64,
    resolve_timeout_ms: i64,
) -> (Vec<Alert>, Vec<InvalidAlert>) {
    // Each alert is read from its own slice of the body, so one malformed alert gets its
    // own error without the body being built as a tree of values first.
    let items: Vec<&RawValue> = match serde_json::from_slice(body) {
        Ok(items) => items,
        Err(e) => {
            let reason = if e.classify() == Category::Data {
                "the body must be a JSON array of alerts".to_string()
            } else {
                format!("the body is not JSON: {e}")
            };
            return (Vec::new(), vec![InvalidAlert { index: 0, reason }]);
        }
    };
    let mut alerts = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let checked = serde_json::from_str::<PostableAlert>(item.get())
            .map_err(|e| e.to_string())
            .and_then(|p| to_alert(p, now_ms, resolve_timeout_ms));
        match checked {
            Ok(a) => alerts.push(a),
            Err(reason) => errors.push(InvalidAlert { index, reason }),
        }
    }
    (alerts, errors)
}

fn to_alert(p: PostableAlert, now_ms: i64, resolve_timeout_ms: i64) -> Result<Alert, String> {
    let time = |field: &str, v: &Option<String>| -> Result<i64, String> {
        match v.as_deref() {
            None | Some("") => Ok(0),
            Some(t) => {
                parse_time(t).ok_or_else(|| format!("{field} {t:?} is not an RFC 3339 time"))
            }
        }
    };
    let mut starts = time("startsAt", &p.starts_at)?;
    let mut ends = time("endsAt", &p.ends_at)?;
    if starts == 0 {
        starts = if ends == 0 { now_ms } else { ends };
    }
    let timeout = ends == 0;
    if timeout {
        ends = now_ms.saturating_add(resolve_timeout_ms);
    }
    let mut labels = p.labels;
    labels.retain(|_, v| !v.is_empty());
    if labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    for name in labels.keys().chain(p.annotations.keys()) {
        if !taishan_core::labels::is_valid_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
    }
    if ends < starts {
        return Err("start time must be before end time".into());
    }
    Ok(Alert {
        labels,
        annotations: p.annotations,
        starts_at_ms: starts,
        ends_at_ms: ends,
        generator_url: p.generator_url.unwrap_or_default(),
        updated_at_ms: now_ms,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_alerts_are_taken_beside_bad_ones() {
        let body = br#"[
            {"labels": {"alertname": "Up", "empty": ""}, "startsAt": "2026-12-02T10:00:00Z"},
            {"labels": {}},
            {"labels": {"alertname": "X"}, "startsAt": "noon"},
            {"labels": {"alertname": "Y"}, "startsAt": "2026-12-02T10:00:00Z", "endsAt": "2026-12-02T09:00:00Z"},
            {"labels": {"0bad": "x"}},
            {"labels": "nope"}
        ]"#;
        let now = 1_796_205_600_000 + 60_000;
        let (ok, bad) = parse_alerts(body, now, 300_000);
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].labels.len(), 1, "empty labels are dropped");
        assert_eq!(ok[0].ends_at_ms, now + 300_000);
        assert!(ok[0].timeout);
        let reasons: Vec<(usize, &str)> =
            bad.iter().map(|e| (e.index, e.reason.as_str())).collect();
        assert_eq!(reasons[0], (1, "at least one label pair required"));
        assert!(reasons[1].1.contains("startsAt \"noon\""), "{reasons:?}");
        assert_eq!(reasons[2], (3, "start time must be before end time"));
        assert!(reasons[3].1.contains("invalid label name"));
        assert_eq!(reasons[4].0, 5);
        assert_eq!(
            parse_alerts(b"{}", now, 1).1[0].reason,
            "the body must be a JSON array of alerts"
        );
        assert!(parse_alerts(b"[{", now, 1).1[0]
            .reason
            .starts_with("the body is not JSON"));
    }
}
