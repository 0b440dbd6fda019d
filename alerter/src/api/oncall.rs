//! Taishan's on-call API beside Alertmanager's: who is on call (now or at a time), the
//! open incidents, acknowledge and resolve (by incident, by fingerprints or by matchers),
//! and the signed links pages carry. A link's GET shows a confirmation page with a button
//! (chat apps and mail scanners open links by themselves; only the person's POST acts).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};

use serde::Deserialize;
use serde_json::{json, Value};

use super::ApiError;
use crate::matcher::{all_match, parse_matchers};
use crate::model::Fingerprint;
use crate::oncall::links::{LinkAction, LinkClaims, LinkError};
use crate::service::{Alerter, PagingError};
use crate::timefmt::{api_time, parse_time};

/// `?at=RFC3339` (default now).
#[derive(Debug, Deserialize)]
pub struct AtQuery {
    at: Option<String>,
}

/// Who is on call: every team's schedules and who its first level pages.
pub async fn who(
    State(alerter): State<Arc<Alerter>>,
    Query(q): Query<AtQuery>,
) -> Result<Json<Value>, ApiError> {
    let at = match &q.at {
        Some(t) => parse_time(t)
            .ok_or_else(|| ApiError::bad_request(format!("at {t:?} is not an RFC 3339 time")))?,
        None => alerter.clock().now_ms(),
    };
    let config = alerter.config();
    let teams: Vec<Value> = config
        .oncall
        .teams
        .values()
        .map(|t| {
            let schedules: serde_json::Map<String, Value> = t
                .on_call_at(at)
                .into_iter()
                .map(|(name, shift)| {
                    let shift = shift.map(|s| {
                        json!({"member": s.member, "source": s.source,
                               "since": api_time(s.since_ms), "until": api_time(s.until_ms)})
                    });
                    (name, shift.unwrap_or(Value::Null))
                })
                .collect();
            json!({"team": t.name, "schedules": schedules, "paged": t.paged_at(0, at)})
        })
        .collect();
    Ok(Json(
        json!({"status": "success", "data": {"at": api_time(at), "teams": teams}}),
    ))
}

/// The open incidents.
pub async fn incidents(State(alerter): State<Arc<Alerter>>) -> Json<Value> {
    Json(json!({"status": "success", "data": {"incidents": alerter.pager().incidents()}}))
}

/// Who acts, and why.
#[derive(Debug, Deserialize)]
pub struct ActBody {
    by: String,
    #[serde(default)]
    comment: String,
}

/// The body as `T`, or 400 naming what is wrong with it.
fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the body: {e}")))
}

fn require_by(by: &str) -> Result<(), ApiError> {
    if by.trim().is_empty() {
        return Err(ApiError::bad_request("\"by\" must name who acts"));
    }
    Ok(())
}

fn no_incident(e: PagingError) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        message: e.to_string(),
        retry_after_s: None,
    }
}

fn acted(fps: &[Fingerprint]) -> Json<Value> {
    let fps: Vec<String> = fps.iter().map(Fingerprint::to_string).collect();
    Json(json!({"status": "success", "data": {"alerts": fps}}))
}

/// `POST /api/taishan/v1/incidents/{id}/ack`.
pub async fn ack_incident(
    State(alerter): State<Arc<Alerter>>,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ActBody = parse_body(&raw)?;
    require_by(&body.by)?;
    let fps = alerter
        .acknowledge_incident(&id, &body.by, &body.comment)
        .map_err(no_incident)?;
    Ok(acted(&fps))
}

/// `POST /api/taishan/v1/incidents/{id}/resolve`.
pub async fn resolve_incident(
    State(alerter): State<Arc<Alerter>>,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ActBody = parse_body(&raw)?;
    require_by(&body.by)?;
    let fps = alerter
        .resolve_incident(&id, &body.by, &body.comment)
        .map_err(no_incident)?;
    Ok(acted(&fps))
}

/// Alerts to act on: fingerprints, or matchers over the firing alerts.
#[derive(Debug, Deserialize)]
pub struct AlertsBody {
    #[serde(default)]
    fingerprints: Vec<String>,
    #[serde(default)]
    filter: Vec<String>,
    by: String,
    #[serde(default)]
    comment: String,
}

fn select(alerter: &Alerter, body: &AlertsBody) -> Result<Vec<Fingerprint>, ApiError> {
    require_by(&body.by)?;
    if body.fingerprints.is_empty() == body.filter.is_empty() {
        return Err(ApiError::bad_request(
            "give either \"fingerprints\" or \"filter\" (matchers), not both or neither",
        ));
    }
    let now = alerter.clock().now_ms();
    let firing = alerter
        .alerts()
        .list()
        .into_iter()
        .filter(|a| !a.resolved_at(now));
    if !body.filter.is_empty() {
        let mut matchers = Vec::new();
        for f in &body.filter {
            matchers.extend(
                parse_matchers(f)
                    .map_err(|e| ApiError::bad_request(format!("filter {f:?}: {e}")))?,
            );
        }
        return Ok(firing
            .filter(|a| all_match(&matchers, &a.labels))
            .map(|a| a.fingerprint())
            .collect());
    }
    let mut out = Vec::new();
    for f in &body.fingerprints {
        let fp = u64::from_str_radix(f, 16).map_err(|_| {
            ApiError::bad_request(format!("{f:?} is not a fingerprint (16 hex digits)"))
        })?;
        out.push(Fingerprint(fp));
    }
    Ok(out)
}

/// `POST /api/taishan/v1/alerts/ack`.
pub async fn ack_alerts(
    State(alerter): State<Arc<Alerter>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: AlertsBody = parse_body(&raw)?;
    let fps = select(&alerter, &body)?;
    alerter.acknowledge(&fps, &body.by, &body.comment);
    Ok(acted(&fps))
}

/// `POST /api/taishan/v1/alerts/resolve`.
pub async fn resolve_alerts(
    State(alerter): State<Arc<Alerter>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: AlertsBody = parse_body(&raw)?;
    let fps = select(&alerter, &body)?;
    alerter.resolve(&fps, &body.by, &body.comment);
    Ok(acted(&fps))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em\"><h1 style=\"font-size:1.3em\">{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn refused(e: &LinkError) -> Response {
    let status = match e {
        LinkError::BadSignature => StatusCode::FORBIDDEN,
        LinkError::Expired(_) => StatusCode::GONE,
    };
    page(
        status,
        "This link cannot be used",
        &format!("<p>{}</p>", escape(&e.to_string())),
    )
}

/// `GET /api/taishan/v1/link`: what the link would do, and a button that does it.
pub async fn link_page(
    State(alerter): State<Arc<Alerter>>,
    Query(c): Query<LinkClaims>,
) -> Response {
    if let Err(e) = alerter.links().verify(&c, alerter.clock().now_ms()) {
        return refused(&e);
    }
    let verb = match c.action {
        LinkAction::Ack => "Acknowledge",
        LinkAction::Resolve => "Resolve",
    };
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let form = format!(
        "<p>{verb} incident <code>{}</code> as <b>{}</b>?</p><form method=\"post\">{}{}{}{}{}<button type=\"submit\" style=\"font-size:1.1em;padding:.5em 1.5em\">{verb}</button></form>",
        escape(&c.incident),
        escape(&c.member),
        hidden("action", c.action.as_str()),
        hidden("incident", &c.incident),
        hidden("member", &c.member),
        hidden("expires", &c.expires.to_string()),
        hidden("sig", &c.sig),
    );
    page(StatusCode::OK, &format!("{verb} incident"), &form)
}

/// `POST /api/taishan/v1/link`: the person confirmed.
pub async fn link_act(State(alerter): State<Arc<Alerter>>, Form(c): Form<LinkClaims>) -> Response {
    if let Err(e) = alerter.links().verify(&c, alerter.clock().now_ms()) {
        return refused(&e);
    }
    let result = match c.action {
        LinkAction::Ack => {
            alerter.acknowledge_incident(&c.incident, &c.member, "from the link in the page")
        }
        LinkAction::Resolve => {
            alerter.resolve_incident(&c.incident, &c.member, "from the page's link")
        }
    };
    match result {
        Ok(fps) => page(
            StatusCode::OK,
            match c.action {
                LinkAction::Ack => "Acknowledged",
                LinkAction::Resolve => "Resolved",
            },
            &format!(
                "<p>{} alert(s) of incident <code>{}</code>, by {}.</p>",
                fps.len(),
                escape(&c.incident),
                escape(&c.member)
            ),
        ),
        Err(e) => page(
            StatusCode::NOT_FOUND,
            "Nothing to do",
            &format!("<p>{}</p>", escape(&e.to_string())),
        ),
    }
}
