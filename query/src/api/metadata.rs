//! Series metadata endpoints: `series`, `labels`, `label/<name>/values`, `metadata`.

use std::collections::BTreeSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};
use taishan_core::TenantId;
use taishan_store::{Matcher, Tsdb};

use super::common::{gated, tenant, timed};
use super::params::Params;
use super::response::{self, ApiError};
use super::QueryState;
use crate::engine::selector::SelectorPlan;
use crate::engine::Engine;

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
    tenant: TenantId,
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
    gated(s, tenant, move || {
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(lookup(&db, set, start, end));
        }
        Ok(all)
    })
    .await
}

/// `/api/v1/series`
pub async fn series(State(s): State<QueryState>, headers: HeaderMap, p: Params) -> Response {
    timed(&s, "series", async {
        let tenant = tenant(&headers)?;
        let found = over_match_sets(&s, tenant.clone(), &p, true, move |db, set, lo, hi| {
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
pub async fn labels(State(s): State<QueryState>, headers: HeaderMap, p: Params) -> Response {
    timed(&s, "labels", async {
        let tenant = tenant(&headers)?;
        let names = over_match_sets(&s, tenant.clone(), &p, false, move |db, set, lo, hi| {
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
        let values = over_match_sets(&s, tenant.clone(), &p, false, move |db, set, lo, hi| {
            db.label_values(&tenant, &name, set, lo, hi)
        })
        .await?;
        Ok(response::success(json!(values)))
    })
    .await
}

/// `/api/v1/metadata`: type, help and unit of metric families, as scraped targets expose
/// them (`metric`, `limit`, `limit_per_metric` narrow it).
pub async fn metadata(State(s): State<QueryState>, RawQuery(q): RawQuery) -> Response {
    timed(&s, "metadata", async {
        let p = Params::from_parts(q.as_deref(), None);
        let int = |key: &str| -> Result<i64, ApiError> {
            match p.get(key) {
                None | Some("") => Ok(-1),
                Some(v) => v.parse().map_err(|_| {
                    ApiError::bad_data(format!(
                        "invalid parameter \"{key}\": {v:?} is not a number"
                    ))
                }),
            }
        };
        let (limit, per_metric) = (int("limit")?, int("limit_per_metric")?);
        let found = s.metadata.query(p.get("metric"), limit, per_metric);
        Ok(response::success(json!(found)))
    })
    .await
}
