//! Expression evaluation over the store.
//!
//! This first engine evaluates what dashboards read directly: instant and range vector
//! selectors (any matchers, `offset`, `@`), number and string literals, and parentheses,
//! with Prometheus's 5-minute lookback and staleness markers. Other expressions are refused
//! with a clear error until the full PromQL engine lands.

pub mod selector;

use std::collections::BTreeMap;
use std::sync::Arc;

use promql_parser::parser::{self, Expr};
use taishan_core::{is_stale_marker, Labels, Sample, TenantId};
use taishan_store::{SeriesData, StoreError, Tsdb};

use selector::{duration_ms, SelectorPlan};

/// Prometheus's default lookback: an instant selector sees the newest sample this recent.
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Why a query failed, in Prometheus's error categories.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query or a parameter is invalid (HTTP 400, `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// The query is valid but cannot be evaluated (HTTP 422, `execution`).
    #[error("{0}")]
    Execution(String),
    /// Storage failed (HTTP 500, `internal`).
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
}

/// A result in one of Prometheus's four types.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// Instant vector: one sample per series at the evaluation time.
    Vector(Vec<(Labels, Sample)>),
    /// Range vector or range query result.
    Matrix(Vec<SeriesData>),
    /// A number at a time.
    Scalar(Sample),
    /// A string at a time (ms).
    String(i64, String),
}

/// Evaluates expressions against one store.
#[derive(Clone, Debug)]
pub struct Evaluator {
    db: Arc<Tsdb>,
}

impl Evaluator {
    /// An evaluator over `db`.
    pub fn new(db: Arc<Tsdb>) -> Self {
        Self { db }
    }

    /// Parses a query, with the parser's message on failure.
    pub fn parse(query: &str) -> Result<Expr, QueryError> {
        parser::parse(query)
            .map_err(|e| QueryError::BadData(format!("invalid parameter \"query\": {e}")))
    }

    /// Evaluates `query` at `t` (ms).
    pub fn instant(
        &self,
        tenant: &TenantId,
        query: &str,
        t: i64,
    ) -> Result<QueryValue, QueryError> {
        let expr = Self::parse(query)?;
        self.eval_instant(tenant, unwrap_parens(&expr), t)
    }

    fn eval_instant(
        &self,
        tenant: &TenantId,
        expr: &Expr,
        t: i64,
    ) -> Result<QueryValue, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(QueryValue::Scalar(Sample::new(t, n.val))),
            Expr::StringLiteral(s) => Ok(QueryValue::String(t, s.val.clone())),
            Expr::VectorSelector(vs) => {
                let plan = SelectorPlan::new(vs, t, t)?;
                let series = self.select(tenant, &plan, t, t, LOOKBACK_MS)?;
                let mut out = Vec::new();
                for s in series {
                    if let Some(sample) = latest_at(&s.samples, plan.data_time(t)) {
                        out.push((s.labels, Sample::new(t, sample.value)));
                    }
                }
                Ok(QueryValue::Vector(out))
            }
            Expr::MatrixSelector(ms) => {
                let plan = SelectorPlan::new(&ms.vs, t, t)?;
                let range = duration_ms(ms.range);
                let end = plan.data_time(t);
                let series = self.select(tenant, &plan, t, t, range)?;
                let out = series
                    .into_iter()
                    .filter_map(|mut s| {
                        // Range selectors are left-open: (end - range, end].
                        s.samples.retain(|x| {
                            x.timestamp_ms > end - range
                                && x.timestamp_ms <= end
                                && !is_stale_marker(x.value)
                        });
                        (!s.samples.is_empty()).then_some(s)
                    })
                    .collect();
                Ok(QueryValue::Matrix(out))
            }
            other => Err(unsupported(other)),
        }
    }

    /// Evaluates `query` at every step from `start` to `end` (ms, inclusive).
    pub fn range(
        &self,
        tenant: &TenantId,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<SeriesData>, QueryError> {
        let expr = Self::parse(query)?;
        let steps = || {
            (0..)
                .map(move |i| start + i * step)
                .take_while(move |t| *t <= end)
        };
        match unwrap_parens(&expr) {
            Expr::NumberLiteral(n) => Ok(vec![SeriesData {
                labels: Labels::default(),
                samples: steps().map(|t| Sample::new(t, n.val)).collect(),
            }]),
            Expr::VectorSelector(vs) => {
                let plan = SelectorPlan::new(vs, start, end)?;
                let series = self.select(tenant, &plan, start, end, LOOKBACK_MS)?;
                let mut out = Vec::new();
                for s in series {
                    let points: Vec<Sample> = steps()
                        .filter_map(|t| latest_at(&s.samples, plan.data_time(t)).map(|x| Sample::new(t, x.value)))
                        .collect();
                    if !points.is_empty() {
                        out.push(SeriesData { labels: s.labels, samples: points });
                    }
                }
                Ok(out)
            }
            Expr::MatrixSelector(_) => Err(QueryError::BadData(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            )),
            Expr::StringLiteral(_) => Err(QueryError::BadData(
                "invalid expression type \"string\" for range query, must be Scalar or instant Vector".into(),
            )),
            other => Err(unsupported(other)),
        }
    }

    /// Samples of the series the plan selects, covering evaluation times `[from, to]` with
    /// `window` ms of history before each.
    fn select(
        &self,
        tenant: &TenantId,
        plan: &SelectorPlan,
        from: i64,
        to: i64,
        window: i64,
    ) -> Result<Vec<SeriesData>, QueryError> {
        let (lo, hi) = match plan.at_ms {
            Some(at) => (at, at),
            None => (from, to),
        };
        let min_t = lo - plan.offset_ms - window;
        let max_t = hi - plan.offset_ms;
        if plan.matcher_sets.len() == 1 {
            return Ok(self
                .db
                .select(tenant, &plan.matcher_sets[0], min_t, max_t)?);
        }
        let mut union: BTreeMap<Labels, SeriesData> = BTreeMap::new();
        for set in &plan.matcher_sets {
            for s in self.db.select(tenant, set, min_t, max_t)? {
                union.entry(s.labels.clone()).or_insert(s);
            }
        }
        Ok(union.into_values().collect())
    }
}

/// The newest sample at or before `t` within the lookback, unless it is a staleness marker.
fn latest_at(samples: &[Sample], t: i64) -> Option<Sample> {
    let idx = samples.partition_point(|s| s.timestamp_ms <= t);
    let s = *samples.get(idx.checked_sub(1)?)?;
    (s.timestamp_ms > t - LOOKBACK_MS && !is_stale_marker(s.value)).then_some(s)
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn unsupported(e: &Expr) -> QueryError {
    QueryError::Execution(format!(
        "cannot evaluate {e}: this build evaluates vector selectors and literals only; operators and functions arrive with the PromQL engine"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_at_honours_lookback_and_staleness() {
        let s = vec![
            Sample::new(1_000, 1.0),
            Sample::new(2_000, 2.0),
            Sample::stale(3_000),
        ];
        assert_eq!(latest_at(&s, 2_500).map(|x| x.value), Some(2.0));
        assert_eq!(latest_at(&s, 1_999).map(|x| x.value), Some(1.0));
        assert_eq!(
            latest_at(&s, 3_500),
            None,
            "a staleness marker hides the series"
        );
        assert_eq!(latest_at(&s, 999), None);
        assert_eq!(
            latest_at(&s[..2], 2_000 + LOOKBACK_MS),
            None,
            "lookback is left-open"
        );
        assert!(latest_at(&s[..2], 2_000 + LOOKBACK_MS - 1).is_some());
    }
}
