//! `GET /api/topology?start=&end=`: who called whom in a time range, from the service-graph
//! series derived from spans (so the answer is a PromQL evaluation like any other).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::common::{gated, tenant, timed};
use super::params::Params;
use super::response::ApiError;
use super::QueryState;
use crate::engine::QueryValue;

/// The change of a cumulative edge counter over `[end - range, end]`: its last value minus
/// its last value before the range; its last value alone for edges first seen inside it,
/// and for counters that restarted since (a restarted process counts from zero again, so
/// its last value is what it counted in the range).
fn over_range(metric: &str, range_s: i64) -> String {
    let by = "client, server, connection_type";
    let last = format!("sum by ({by}) (last_over_time({metric}[{range_s}s]))");
    let before = format!("sum by ({by}) (last_over_time({metric}[{range_s}s] offset {range_s}s))");
    format!("({last} - ({before} and {last} >= {before})) or {last}")
}

/// `GET /api/topology`: nodes (services and the uninstrumented peers they call) and edges
/// with request and failure counts and p95 server latency over the range (default the last
/// hour).
pub async fn topology(
    State(s): State<QueryState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    timed(&s, "topology", async {
        let tenant = tenant(&headers)?;
        let p = Params::from_parts(q.as_deref(), None);
        let end = p.time_or("end", s.clock.now_ms())?;
        let start = p.time_or("start", end - 3_600_000)?;
        if end <= start {
            return Err(ApiError::bad_data("invalid parameters: end must be after start"));
        }
        let range_s = ((end - start) / 1000).max(1);
        let queries = [
            ("requests", over_range("traces_service_graph_request_total", range_s)),
            ("failed", over_range("traces_service_graph_request_failed_total", range_s)),
            (
                "p95_seconds",
                format!(
                    "histogram_quantile(0.95, {})",
                    over_range("traces_service_graph_request_server_seconds_bucket", range_s)
                        .replace("client, server, connection_type", "client, server, connection_type, le")
                ),
            ),
        ];
        let engine = s.engine.clone();
        let edges = gated(&s, tenant.clone(), move || {
            let mut edges: BTreeMap<(String, String, String), BTreeMap<&'static str, f64>> = BTreeMap::new();
            for (field, query) in &queries {
                let out = engine.instant(&tenant, query, end)?;
                if let QueryValue::Vector(v) = out.value {
                    for (labels, sample) in v {
                        let key = (
                            labels.get("client").unwrap_or("").to_string(),
                            labels.get("server").unwrap_or("").to_string(),
                            labels.get("connection_type").unwrap_or("").to_string(),
                        );
                        edges.entry(key).or_default().insert(field, sample.value);
                    }
                }
            }
            Ok(edges)
        })
        .await?;
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        let list: Vec<serde_json::Value> = edges
            .iter()
            .filter(|(_, v)| v.get("requests").copied().unwrap_or(0.0) > 0.0)
            .map(|((client, server, connection), v)| {
                nodes.insert(client);
                nodes.insert(server);
                let num = |k: &str| v.get(k).copied().filter(|x| x.is_finite());
                json!({
                    "client": client,
                    "server": server,
                    "connectionType": connection,
                    "requests": num("requests").unwrap_or(0.0),
                    "failed": num("failed").unwrap_or(0.0),
                    "p95Seconds": num("p95_seconds"),
                })
            })
            .collect();
        Ok(Json(json!({"nodes": nodes, "edges": list, "start": start as f64 / 1000.0, "end": end as f64 / 1000.0})).into_response())
    })
    .await
}
