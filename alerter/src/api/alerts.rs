//! `/api/v2/alerts` and `/api/v2/alerts/groups`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::ApiError;
use crate::matcher::{all_match, parse_matchers, Matcher};
use crate::model::Alert;
use crate::postable::parse_alerts;
use crate::service::{Alerter, Suppression};
use crate::timefmt::api_time;

/// `POST /api/v2/alerts`: takes the well-formed alerts; 400 naming each malformed one.
pub async fn post(State(alerter): State<Arc<Alerter>>, body: Bytes) -> Response {
    let now = alerter.clock().now_ms();
    let resolve_timeout = alerter
        .config()
        .config
        .global
        .resolve_timeout
        .as_millis_i64();
    let (alerts, invalid) = parse_alerts(&body, now, resolve_timeout);
    alerter
        .metrics()
        .alerts_invalid
        .inc_by(invalid.len() as u64);
    let accepted = alerter.take(alerts);
    if accepted.refused > 0 {
        return ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!(
                "{} alerts refused: the alerter holds its maximum of {} alerts",
                accepted.refused,
                alerter.options().max_alerts
            ),
            retry_after_s: Some(30),
        }
        .into_response();
    }
    if !invalid.is_empty() {
        let reasons: Vec<String> = invalid.iter().map(ToString::to_string).collect();
        return ApiError::bad_request(reasons.join("; ")).into_response();
    }
    StatusCode::OK.into_response()
}

/// The filters of `GET /api/v2/alerts`.
struct AlertFilter {
    matchers: Vec<Matcher>,
    receiver: Option<regex::Regex>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

impl AlertFilter {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut f = AlertFilter {
            matchers: Vec::new(),
            receiver: None,
            active: true,
            silenced: true,
            inhibited: true,
        };
        for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match k.as_ref() {
                "filter" => f.matchers.extend(
                    parse_matchers(&v)
                        .map_err(|e| ApiError::bad_request(format!("filter {v:?}: {e}")))?,
                ),
                "receiver" => {
                    let re = regex::Regex::new(&format!("^(?:{v})$"))
                        .map_err(|e| ApiError::bad_request(format!("receiver {v:?}: {e}")))?;
                    f.receiver = Some(re);
                }
                "active" => f.active = flag(&k, &v)?,
                "silenced" => f.silenced = flag(&k, &v)?,
                "inhibited" => f.inhibited = flag(&k, &v)?,
                // Alerts are grouped as they arrive: none is ever unprocessed.
                "unprocessed" => {
                    flag(&k, &v)?;
                }
                _ => {}
            }
        }
        Ok(f)
    }

    fn wants(&self, alert: &Alert, s: &Suppression) -> bool {
        let state_wanted = if s.is_muted() {
            (self.silenced || s.silenced_by.is_empty())
                && (self.inhibited || s.inhibited_by.is_empty())
        } else {
            self.active
        };
        state_wanted && all_match(&self.matchers, &alert.labels)
    }
}

fn flag(name: &str, v: &str) -> Result<bool, ApiError> {
    v.parse()
        .map_err(|_| ApiError::bad_request(format!("{name} must be true or false, got {v:?}")))
}

/// The alert as the API shows it (`gettableAlert`).
fn gettable(alert: &Alert, receivers: &[String], s: &Suppression) -> Value {
    let state = if s.is_muted() { "suppressed" } else { "active" };
    let inhibited_by: Vec<String> = s.inhibited_by.iter().map(ToString::to_string).collect();
    json!({
        "annotations": alert.annotations,
        "endsAt": api_time(alert.ends_at_ms),
        "fingerprint": alert.fingerprint().to_string(),
        "receivers": receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "startsAt": api_time(alert.starts_at_ms),
        "status": {"inhibitedBy": inhibited_by, "silencedBy": s.silenced_by, "state": state},
        "updatedAt": api_time(alert.updated_at_ms),
        "generatorURL": alert.generator_url,
        "labels": alert.labels,
    })
}

fn receivers_of(alerter: &Alerter, alert: &Alert) -> Vec<String> {
    let config = alerter.config();
    let mut out: Vec<String> = Vec::new();
    for id in config.routes.matches(&alert.labels) {
        let r = &config.routes.node(id).options.receiver;
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

/// `GET /api/v2/alerts`: alerts not resolved, filtered.
pub async fn list(
    State(alerter): State<Arc<Alerter>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let filter = AlertFilter::parse(query.as_deref())?;
    let now = alerter.clock().now_ms();
    let mut alerts = alerter.alerts().firing(now);
    alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
    let out: Vec<Value> = alerts
        .iter()
        .filter_map(|a| {
            let s = alerter.suppression(a, &alerts, now);
            if !filter.wants(a, &s) {
                return None;
            }
            let receivers = receivers_of(&alerter, a);
            let wanted = filter
                .receiver
                .as_ref()
                .is_none_or(|re| receivers.iter().any(|r| re.is_match(r)));
            wanted.then(|| gettable(a, &receivers, &s))
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v2/alerts/groups`: the aggregation groups and their alerts.
pub async fn groups(
    State(alerter): State<Arc<Alerter>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let filter = AlertFilter::parse(query.as_deref())?;
    let config = alerter.config();
    let now = alerter.clock().now_ms();
    let firing = alerter.alerts().firing(now);
    let mut groups = alerter.groups();
    groups.sort_by(|a, b| a.labels.cmp(&b.labels).then(a.key.cmp(&b.key)));
    let mut out = Vec::new();
    for g in groups {
        let receiver = &config.routes.node(g.route).options.receiver;
        if filter
            .receiver
            .as_ref()
            .is_some_and(|re| !re.is_match(receiver))
        {
            continue;
        }
        let mut alerts: Vec<(&Alert, Suppression)> = g
            .alerts
            .values()
            .filter(|a| !a.resolved_at(now))
            .map(|a| (a.as_ref(), alerter.suppression(a, &firing, now)))
            .filter(|(a, s)| filter.wants(a, s))
            .collect();
        if alerts.is_empty() {
            continue;
        }
        alerts.sort_by(|a, b| a.0.labels.cmp(&b.0.labels));
        out.push(json!({
            "labels": g.labels,
            "receiver": {"name": receiver},
            "alerts": alerts.iter().map(|(a, s)| gettable(a, &receivers_of(&alerter, a), s)).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(Value::Array(out)))
}
