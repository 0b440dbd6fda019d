//! What a notification says, in Alertmanager's template data shape (`.Receiver`,
//! `.Status`, `.Alerts`, `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`,
//! `.ExternalURL`), which is also the body of a version 4 webhook.

use std::sync::Arc;

use serde::Serialize;
use taishan_template::{GoTime, Value};

use crate::model::{Alert, AlertStatus, LabelSet};
use crate::timefmt::go_json_time;

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertData {
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// Its labels.
    pub labels: LabelSet,
    /// Its annotations.
    pub annotations: LabelSet,
    /// Go JSON time.
    pub starts_at: String,
    /// Go JSON time; the zero time while firing.
    pub ends_at: String,
    /// Where it came from.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Its fingerprint, 16 hex digits.
    pub fingerprint: String,
    #[serde(skip)]
    starts_at_ms: i64,
    #[serde(skip)]
    ends_at_ms: i64,
}

/// A whole notification's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationData {
    /// The receiver's name, regex-quoted as Alertmanager does.
    pub receiver: String,
    /// `firing` when any alert fires.
    pub status: AlertStatus,
    /// The alerts.
    pub alerts: Vec<AlertData>,
    /// The group's labels.
    pub group_labels: LabelSet,
    /// Labels every alert has with the same value.
    pub common_labels: LabelSet,
    /// Annotations every alert has with the same value.
    pub common_annotations: LabelSet,
    /// The alerter's external URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// Taishan's addition when an on-call member is paged (absent otherwise, so a plain
    /// receiver's JSON is Alertmanager's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taishan: Option<PageContext>,
}

/// Who a page is for and how to answer it, in the webhook JSON (`taishan`) and templates
/// (`.Taishan`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageContext {
    /// The team paged.
    pub team: String,
    /// The member paged.
    pub member: String,
    /// Why them (`schedule primary (weekly)`).
    pub via: String,
    /// The incident's id.
    pub incident: String,
    /// The escalation level (1-based, counting repeats).
    pub level: usize,
    /// A signed, expiring link that acknowledges the incident.
    #[serde(rename = "ackURL")]
    pub ack_url: String,
    /// A signed, expiring link that resolves it.
    #[serde(rename = "resolveURL")]
    pub resolve_url: String,
}

impl NotificationData {
    /// The data of `alerts` for `receiver` at `now_ms`.
    pub fn new(
        receiver: &str,
        group_labels: &LabelSet,
        alerts: &[Alert],
        now_ms: i64,
        external_url: &str,
    ) -> Self {
        let status_of = |a: &Alert| {
            if a.resolved_at(now_ms) {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            }
        };
        let status = if alerts.iter().any(|a| status_of(a) == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        Self {
            receiver: regex::escape(receiver),
            status,
            alerts: alerts
                .iter()
                .map(|a| AlertData {
                    status: status_of(a),
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    starts_at: go_json_time(a.starts_at_ms),
                    ends_at: go_json_time(a.ends_at_ms),
                    generator_url: a.generator_url.clone(),
                    fingerprint: a.fingerprint().to_string(),
                    starts_at_ms: a.starts_at_ms,
                    ends_at_ms: a.ends_at_ms,
                })
                .collect(),
            group_labels: group_labels.clone(),
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            external_url: external_url.to_string(),
            taishan: None,
        }
    }
}

impl NotificationData {
    /// The data as notification templates see it: `.Receiver`, `.Status`, `.Alerts` (with
    /// `.Firing` and `.Resolved`), `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`
    /// (with `.SortedPairs`, `.Names`, `.Values`, `.Remove`) and `.ExternalURL`, each alert
    /// with `.Status`, `.Labels`, `.Annotations`, `.StartsAt`, `.EndsAt`, `.GeneratorURL`,
    /// `.Fingerprint`.
    pub fn template_value(&self) -> Value {
        let kv = |m: &LabelSet| Value::Kv(Arc::new(m.clone()));
        let status = |s: AlertStatus| {
            Value::Str(match s {
                AlertStatus::Firing => "firing".into(),
                AlertStatus::Resolved => "resolved".into(),
            })
        };
        let alerts = self
            .alerts
            .iter()
            .map(|a| {
                Value::Struct(Arc::new(vec![
                    ("Status", status(a.status)),
                    ("Labels", kv(&a.labels)),
                    ("Annotations", kv(&a.annotations)),
                    (
                        "StartsAt",
                        Value::Time(GoTime::from_unix_millis_or_zero(a.starts_at_ms)),
                    ),
                    (
                        "EndsAt",
                        Value::Time(GoTime::from_unix_millis_or_zero(a.ends_at_ms)),
                    ),
                    ("GeneratorURL", Value::Str(a.generator_url.clone())),
                    ("Fingerprint", Value::Str(a.fingerprint.clone())),
                ]))
            })
            .collect();
        Value::Struct(Arc::new(vec![
            ("Receiver", Value::Str(self.receiver.clone())),
            ("Status", status(self.status)),
            ("Alerts", Value::Alerts(Arc::new(alerts))),
            ("GroupLabels", kv(&self.group_labels)),
            ("CommonLabels", kv(&self.common_labels)),
            ("CommonAnnotations", kv(&self.common_annotations)),
            ("ExternalURL", Value::Str(self.external_url.clone())),
            (
                "Taishan",
                self.taishan.as_ref().map_or(Value::Nil, page_value),
            ),
        ]))
    }
}

/// `.Taishan`: `.Team`, `.Member`, `.Via`, `.Incident`, `.Level`, `.AckURL`, `.ResolveURL`.
fn page_value(p: &PageContext) -> Value {
    Value::Struct(Arc::new(vec![
        ("Team", Value::Str(p.team.clone())),
        ("Member", Value::Str(p.member.clone())),
        ("Via", Value::Str(p.via.clone())),
        ("Incident", Value::Str(p.incident.clone())),
        (
            "Level",
            Value::Int(i64::try_from(p.level).unwrap_or(i64::MAX)),
        ),
        ("AckURL", Value::Str(p.ack_url.clone())),
        ("ResolveURL", Value::Str(p.resolve_url.clone())),
    ]))
}

fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else {
        return LabelSet::new();
    };
    let mut out = first.clone();
    for s in sets {
        out.retain(|k, v| s.get(k) == Some(v));
        if out.is_empty() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_template::{Expansion, TemplateSet};

    fn alert(instance: &str, ends_at_ms: i64) -> Alert {
        Alert {
            labels: LabelSet::from([
                ("alertname".to_string(), "PaymentsFailing".to_string()),
                ("instance".to_string(), instance.to_string()),
                ("service".to_string(), "payment".to_string()),
            ]),
            annotations: LabelSet::from([("summary".to_string(), format!("{instance} fails"))]),
            starts_at_ms: 1_000,
            ends_at_ms,
            generator_url: "http://prometheus/graph".into(),
            updated_at_ms: 1_000,
            timeout: false,
        }
    }

    #[test]
    fn notification_templates_read_alertmanagers_data() {
        let group = LabelSet::from([("alertname".to_string(), "PaymentsFailing".to_string())]);
        let data = NotificationData::new(
            "oncall",
            &group,
            &[alert("p-1", 0), alert("p-2", 5_000)],
            10_000,
            "http://am",
        );
        let mut set = TemplateSet::new();
        set.add(
            r#"{{ define "subject" }}[{{ .Status | toUpper }}:{{ .Alerts.Firing | len }}] {{ .GroupLabels.SortedPairs.Values | join " " }} ({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}
{{ define "list" }}{{ range .Alerts }}{{ .Status }} {{ .Labels.instance }}: {{ .Annotations.summary }}
{{ end }}{{ end }}"#,
        )
        .unwrap();
        let ctx = Expansion {
            query: None,
            external_url: "http://am",
            time_ms: 10_000,
        };
        let v = data.template_value();
        assert_eq!(
            set.expand_named("subject", &v, &ctx).unwrap(),
            "[FIRING:1] PaymentsFailing (payment)"
        );
        assert_eq!(
            set.expand_named("list", &v, &ctx).unwrap(),
            "firing p-1: p-1 fails\nresolved p-2: p-2 fails\n"
        );
    }
}
