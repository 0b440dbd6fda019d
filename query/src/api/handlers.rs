//! The endpoint handlers. Each reads its parameters, runs the store work on a blocking
//! thread (it reads files), and answers in Prometheus's envelope.

use std::collections::BTreeSet;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{json, Value};
use taishan_core::{TenantId, TENANT_HEADER};
use taishan_store::{Matcher, Tsdb};

use super::params::Params;
use super::response::{self, ApiError};
use super::QueryState;
use crate::engine::selector::SelectorPlan;
use crate::engine::Engine;

fn tenant(headers: &HeaderMap) -> Result<TenantId, ApiError> {
    TenantId::from_header(headers.get(TENANT_HEADER).map(|v| v.as_bytes()))
        .map_err(|e| ApiError::bad_data(format!("invalid {TENANT_HEADER} header: {e}")))
}

fn params(method: &Method, query: Option<String>, body: &Bytes) -> Params {
    let form = (*method == Method::POST).then_some(body);
    Params::from_parts(query.as_deref(), form)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
}

async fn timed(
    state: &QueryState,
    endpoint: &str,
    work: impl std::future::Future<Output = Result<Response, ApiError>>,
) -> Response {
    let start = Instant::now();
    let resp = match work.await {
        Ok(r) => r,
        Err(e) => axum::response::IntoResponse::into_response(e),
    };
    state
        .metrics
        .duration
        .with_label_values(&[endpoint])
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// `/api/v1/query`
pub async fn query(
    State(s): State<QueryState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    timed(&s, "query", async {
        let p = params(&method, q, &body);
        let tenant = tenant(&headers)?;
        let query = p.required("query")?.to_string();
        let t = p.time_or("time", s.clock.now_ms())?;
        let engine = s.engine.clone();
        let out = blocking(move || Ok(engine.instant(&tenant, &query, t)?)).await?;
        Ok(response::query_success(&out, p.get("stats").is_some()))
    })
    .await
}

/// `/api/v1/query_range`
pub async fn query_range(
    State(s): State<QueryState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    timed(&s, "query_range", async {
        let p = params(&method, q, &body);
        let tenant = tenant(&headers)?;
        let query = p.required("query")?.to_string();
        p.required("start")?;
        p.required("end")?;
        let start = p.time_or("start", 0)?;
        let end = p.time_or("end", 0)?;
        let step = p.duration("step")?;
        if end < start {
            return Err(ApiError::bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        let engine = s.engine.clone();
        let out = blocking(move || Ok(engine.range(&tenant, &query, start, end, step)?)).await?;
        Ok(response::query_success(&out, p.get("stats").is_some()))
    })
    .await
}

/// Matcher sets of every `match[]` selector (each may expand to several with `or`).
fn match_sets(p: &Params, start: i64, end: i64) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::new();
    for sel in p.all("match[]") {
        let expr = Engine::parse(sel)?;
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"match[]\": {sel:?} is not a series selector"
            )));
        };
        sets.extend(
            SelectorPlan::new(&vs, start, end)
                .map_err(ApiError::from)?
                .matcher_sets,
        );
    }
    Ok(sets)
}

fn range_of(p: &Params) -> Result<(i64, i64), ApiError> {
    Ok((p.time_or("start", i64::MIN)?, p.time_or("end", i64::MAX)?))
}

/// The sorted union of `lookup` over every `match[]` matcher set (the whole tenant when
/// there is none and `required` is false), run on a blocking thread.
async fn over_match_sets<T: Ord + Send + 'static>(
    s: &QueryState,
    p: &Params,
    required: bool,
    lookup: impl Fn(&Tsdb, &[Matcher], i64, i64) -> Vec<T> + Send + 'static,
) -> Result<BTreeSet<T>, ApiError> {
    let (start, end) = range_of(p)?;
    let mut sets = match_sets(p, start, end)?;
    if sets.is_empty() {
        if required {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        sets.push(Vec::new());
    }
    let db = s.db.clone();
    blocking(move || {
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(lookup(&db, set, start, end));
        }
        Ok(all)
    })
    .await
}

/// `/api/v1/series`
pub async fn series(
    State(s): State<QueryState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    timed(&s, "series", async {
        let p = params(&method, q, &body);
        let tenant = tenant(&headers)?;
        let found = over_match_sets(&s, &p, true, move |db, set, lo, hi| {
            db.series(&tenant, set, lo, hi)
        })
        .await?;
        Ok(response::success(Value::Array(
            found.iter().map(response::metric).collect(),
        )))
    })
    .await
}

/// `/api/v1/labels`
pub async fn labels(
    State(s): State<QueryState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    timed(&s, "labels", async {
        let p = params(&method, q, &body);
        let tenant = tenant(&headers)?;
        let names = over_match_sets(&s, &p, false, move |db, set, lo, hi| {
            db.label_names(&tenant, set, lo, hi)
        })
        .await?;
        Ok(response::success(json!(names)))
    })
    .await
}

/// `/api/v1/label/<name>/values`
pub async fn label_values(
    State(s): State<QueryState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    timed(&s, "label_values", async {
        let p = Params::from_parts(q.as_deref(), None);
        let tenant = tenant(&headers)?;
        if !taishan_core::labels::is_valid_label_name(&name) && name != "__name__" {
            return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
        }
        let values = over_match_sets(&s, &p, false, move |db, set, lo, hi| {
            db.label_values(&tenant, &name, set, lo, hi)
        })
        .await?;
        Ok(response::success(json!(values)))
    })
    .await
}

/// `/api/v1/status/buildinfo`
pub async fn buildinfo(State(s): State<QueryState>) -> Response {
    timed(&s, "buildinfo", async {
        Ok(response::success(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": option_env!("TAISHAN_REVISION").unwrap_or("unknown"),
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "n/a (Rust)",
        })))
    })
    .await
}
