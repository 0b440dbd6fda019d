//! `GET /api/logs/search`: log lines newest first, with a cursor for the next page.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use taishan_store::logs::LogCursor;
use taishan_store::traces::parse_trace_id;
use taishan_store::LogQuery;

use super::common::{gated, tenant, timed};
use super::params::Params;
use super::response::ApiError;
use super::QueryState;

/// A severity filter: an OTLP number, or a level name.
fn severity(v: &str) -> Option<i32> {
    if let Ok(n) = v.parse::<i32>() {
        return (0..=24).contains(&n).then_some(n);
    }
    Some(match v.to_ascii_lowercase().as_str() {
        "trace" => 1,
        "debug" => 5,
        "info" => 9,
        "warn" | "warning" => 13,
        "error" => 17,
        "fatal" => 21,
        _ => return None,
    })
}

/// `GET /api/logs/search?start=&end=&service=&severity=&q=&regex=&attr=k%3Dv&trace_id=&limit=&cursor=`
/// (`start`/`end` Unix seconds or RFC 3339, default the last hour; `severity` is a minimum).
pub async fn search(
    State(s): State<QueryState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    timed(&s, "log_search", async {
        let tenant = tenant(&headers)?;
        let p = Params::from_parts(q.as_deref(), None);
        let end = p.time_or("end", s.clock.now_ms())?;
        let start = p.time_or("start", end - 3_600_000)?;
        let ns = |ms: i64| u64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000);
        let bad = |key: &str, v: &str, why: &str| {
            ApiError::bad_data(format!("invalid parameter \"{key}\": {v:?} {why}"))
        };
        let min_severity = match p.get("severity") {
            None | Some("") => None,
            Some(v) => {
                Some(severity(v).ok_or_else(|| bad("severity", v, "is not a level or 0-24"))?)
            }
        };
        let regex = match p.get("regex") {
            None | Some("") => None,
            Some(v) => Some(
                regex::Regex::new(v)
                    .map_err(|e| bad("regex", v, &format!("does not compile: {e}")))?,
            ),
        };
        let mut attributes = Vec::new();
        for a in p.all("attr") {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| bad("attr", a, "is not key=value"))?;
            attributes.push((k.to_string(), v.to_string()));
        }
        let trace_id = match p.get("trace_id") {
            None | Some("") => None,
            Some(v) => Some(
                parse_trace_id(&v.to_ascii_lowercase())
                    .ok_or_else(|| bad("trace_id", v, "is not 32 hex digits"))?,
            ),
        };
        let limit = match p.get("limit") {
            None => 100,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=5000).contains(n))
                .ok_or_else(|| bad("limit", v, "must be 1 to 5000"))?,
        };
        let after = match p.get("cursor") {
            None | Some("") => None,
            Some(v) => Some(
                LogCursor::decode(v)
                    .ok_or_else(|| bad("cursor", v, "is not a cursor from a previous page"))?,
            ),
        };
        let query = LogQuery {
            start_ns: ns(start),
            end_ns: ns(end),
            service: p
                .get("service")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            min_severity,
            contains: p.get("q").filter(|v| !v.is_empty()).map(str::to_string),
            regex,
            attributes,
            trace_id,
            limit,
            after,
        };
        let store = s
            .logs
            .clone()
            .ok_or_else(|| ApiError::internal("this server keeps no logs"))?;
        let page = gated(&s, tenant.clone(), move || {
            store
                .search(&tenant, &query)
                .map_err(|e| ApiError::internal(e.to_string()))
        })
        .await?;
        let lines: Vec<serde_json::Value> = page
            .lines
            .iter()
            .map(|l| {
                json!({
                    "timeUnixNano": l.time_ns.to_string(),
                    "service": l.service,
                    "severityText": l.severity_text,
                    "severityNumber": l.severity_number,
                    "body": l.body,
                    "attributes": l
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect::<serde_json::Map<String, serde_json::Value>>(),
                    "traceId": l.trace_id,
                    "spanId": l.span_id,
                })
            })
            .collect();
        Ok(Json(json!({"lines": lines, "next": page.next.map(|c| c.encode())})).into_response())
    })
    .await
}
