//! Trace endpoints: a trace by id at Tempo's path (OTLP/JSON body), Tempo-style search, and
//! Jaeger-style service and operation lists.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use serde_json::json;
use taishan_store::traces::parse_trace_id;
use taishan_store::TraceQuery;

use super::common::{gated, tenant, timed};
use super::params::Params;
use super::response::ApiError;
use super::QueryState;

fn store(s: &QueryState) -> Result<std::sync::Arc<taishan_store::TraceStore>, ApiError> {
    s.traces
        .clone()
        .ok_or_else(|| ApiError::internal("this server keeps no traces"))
}

/// `GET /api/traces/{trace_id}`: every span of the trace, as OTLP/JSON (`resourceSpans`).
pub async fn trace_by_id(
    State(s): State<QueryState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    timed(&s, "trace_by_id", async {
        let tenant = tenant(&headers)?;
        let trace_id = parse_trace_id(&id.to_ascii_lowercase()).ok_or_else(|| {
            ApiError::bad_data(format!("invalid trace id {id:?}: expected 32 hex digits"))
        })?;
        let store = store(&s)?;
        let found = gated(&s, tenant.clone(), move || {
            store
                .trace(&tenant, &trace_id)
                .map_err(|e| ApiError::internal(e.to_string()))
        })
        .await?;
        match found {
            Some(resource_spans) => Ok(Json(TracesData { resource_spans }).into_response()),
            None => Err(ApiError::not_found(format!("trace {id} not found"))),
        }
    })
    .await
}

/// A duration parameter such as `100ms` or `2s`, in ns.
fn duration_ns(p: &Params, key: &str) -> Result<Option<u64>, ApiError> {
    match p.get(key) {
        None | Some("") => Ok(None),
        Some(v) => humantime::parse_duration(v)
            .map(|d| Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"{key}\": {v:?}: {e}"))),
    }
}

/// `tags=` in logfmt: `http.route=/loans error=true`.
fn tags(p: &Params) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for raw in p.all("tags") {
        for pair in raw.split_whitespace() {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"tags\": {pair:?} is not key=value"
                ))
            })?;
            out.push((k.to_string(), v.trim_matches('"').to_string()));
        }
    }
    Ok(out)
}

/// `GET /api/search?service=&operation=&tags=&minDuration=&maxDuration=&start=&end=&limit=`
/// (Tempo's parameters; `start`/`end` in Unix seconds, default the last hour).
pub async fn search(
    State(s): State<QueryState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    timed(&s, "trace_search", async {
        let tenant = tenant(&headers)?;
        let p = Params::from_parts(q.as_deref(), None);
        let now = s.clock.now_ms();
        let end = p.time_or("end", now)?;
        let start = p.time_or("start", end - 3_600_000)?;
        let limit = match p.get("limit") {
            None => 20,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_data(format!(
                        "invalid parameter \"limit\": {v:?} must be 1 to 1000"
                    ))
                })?,
        };
        let mut attributes = tags(&p)?;
        // `status=error` and `error=true` both ask for failed traces.
        let mut error = None;
        attributes.retain(|(k, v)| match (k.as_str(), v.as_str()) {
            ("status", "error") | ("error", "true") => {
                error = Some(true);
                false
            }
            ("status", "ok") | ("error", "false") => {
                error = Some(false);
                false
            }
            _ => true,
        });
        let query = TraceQuery {
            service: p
                .get("service")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            operation: p
                .get("operation")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            error,
            min_duration_ns: duration_ns(&p, "minDuration")?,
            max_duration_ns: duration_ns(&p, "maxDuration")?,
            attributes,
            start_ms: start,
            end_ms: end,
            limit,
        };
        let store = store(&s)?;
        let found = gated(&s, tenant.clone(), move || {
            store
                .search(&tenant, &query)
                .map_err(|e| ApiError::internal(e.to_string()))
        })
        .await?;
        let traces: Vec<serde_json::Value> = found
            .iter()
            .map(|t| {
                json!({
                    "traceID": t.trace_id,
                    "rootServiceName": t.root_service,
                    "rootTraceName": t.root_name,
                    "startTimeUnixNano": (t.start_ms as i128 * 1_000_000).to_string(),
                    "durationMs": t.duration_ms,
                    "spanCount": t.span_count,
                    "errorCount": t.error_count,
                    "services": t.services,
                })
            })
            .collect();
        Ok(Json(json!({"traces": traces})).into_response())
    })
    .await
}

/// `GET /api/services`: services that sent spans (Jaeger's shape).
pub async fn services(State(s): State<QueryState>, headers: HeaderMap) -> Response {
    timed(&s, "trace_services", async {
        let tenant = tenant(&headers)?;
        let names: Vec<String> = store(&s)?
            .services(&tenant)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        Ok(Json(json!({"data": names, "total": names.len()})).into_response())
    })
    .await
}

/// `GET /api/services/{service}/operations`: span names of a service (Jaeger's shape).
pub async fn operations(
    State(s): State<QueryState>,
    Path(service): Path<String>,
    headers: HeaderMap,
) -> Response {
    timed(&s, "trace_operations", async {
        let tenant = tenant(&headers)?;
        let ops = store(&s)?
            .services(&tenant)
            .into_iter()
            .find(|(s, _)| *s == service)
            .map(|(_, ops)| ops)
            .ok_or_else(|| ApiError::not_found(format!("service {service:?} has sent no spans")))?;
        Ok(Json(json!({"data": ops, "total": ops.len()})).into_response())
    })
    .await
}
