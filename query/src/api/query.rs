//! PromQL endpoints: `query`, `query_range`, `query_exemplars`, `format_query`,
//! `parse_query`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::common::{blocking, tenant, timed};
use super::params::Params;
use super::response::{self, ApiError};
use super::QueryState;
use crate::engine::Engine;

/// `/api/v1/query`
pub async fn query(State(s): State<QueryState>, headers: HeaderMap, p: Params) -> Response {
    timed(&s, "query", async {
        let tenant = tenant(&headers)?;
        let query = p.required("query")?.to_string();
        let t = p.time_or("time", s.clock.now_ms())?;
        let engine = engine_for(&s, &p)?;
        let _turn = s.gate.enter(&tenant, engine.limits().timeout).await?;
        let (text, who) = (query.clone(), tenant.clone());
        let out = blocking(move || Ok(engine.instant(&tenant, &query, t)?)).await?;
        note_cost(&s, &who, &text, &out);
        Ok(response::query_success(&out, p.get("stats").is_some()))
    })
    .await
}

/// `/api/v1/query_range`
pub async fn query_range(State(s): State<QueryState>, headers: HeaderMap, p: Params) -> Response {
    timed(&s, "query_range", async {
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
        let engine = engine_for(&s, &p)?;
        let _turn = s.gate.enter(&tenant, engine.limits().timeout).await?;
        let (text, who) = (query.clone(), tenant.clone());
        let out = blocking(move || Ok(engine.range(&tenant, &query, start, end, step)?)).await?;
        note_cost(&s, &who, &text, &out);
        Ok(response::query_success(&out, p.get("stats").is_some()))
    })
    .await
}

/// Queries slower than this are logged, with their text, for the operator.
const SLOW_QUERY_SECONDS: f64 = 5.0;

/// Counts what a query read, and logs it when it was slow.
fn note_cost(
    s: &QueryState,
    tenant: &taishan_core::TenantId,
    query: &str,
    out: &crate::engine::QueryOutput,
) {
    s.metrics.samples_read.inc_by(out.stats.total_samples);
    if out.stats.eval_seconds >= SLOW_QUERY_SECONDS {
        tracing::warn!(
            tenant = tenant.as_str(),
            query,
            seconds = out.stats.eval_seconds,
            samples = out.stats.total_samples,
            peak_samples = out.stats.peak_samples,
            "slow query"
        );
    }
}

/// The engine, with a shorter timeout when the request asks for one (`timeout=`, capped by
/// the configured `query.timeout`, as in Prometheus).
fn engine_for(s: &QueryState, p: &super::params::Params) -> Result<Engine, ApiError> {
    match p.get("timeout") {
        None | Some("") => Ok(s.engine.clone()),
        Some(_) => {
            let ms = p.duration("timeout")?;
            let asked = std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            Ok(s.engine.with_timeout(asked))
        }
    }
}

/// Answers with `render` of the parsed `query` parameter (GET or POST form).
async fn with_parsed(
    s: &QueryState,
    endpoint: &str,
    p: Params,
    render: impl FnOnce(promql_parser::parser::Expr) -> Result<serde_json::Value, ApiError>,
) -> Response {
    timed(s, endpoint, async {
        let expr = Engine::parse(p.required("query")?)?;
        Ok(response::success(render(expr)?))
    })
    .await
}

/// `/api/v1/query_exemplars`: this store keeps no exemplars, so the answer is an empty
/// list (after checking the query, as Prometheus does).
pub async fn query_exemplars(State(s): State<QueryState>, p: Params) -> Response {
    with_parsed(&s, "query_exemplars", p, |_| Ok(json!([]))).await
}

/// `/api/v1/format_query`: the query, pretty-printed.
pub async fn format_query(State(s): State<QueryState>, p: Params) -> Response {
    with_parsed(&s, "format_query", p, |e| Ok(json!(e.prettify()))).await
}

/// `/api/v1/parse_query`: the query's syntax tree as JSON.
pub async fn parse_query(State(s): State<QueryState>, p: Params) -> Response {
    with_parsed(&s, "parse_query", p, |e| {
        serde_json::to_value(&e)
            .map_err(|e| ApiError::internal(format!("cannot render the syntax tree: {e}")))
    })
    .await
}
