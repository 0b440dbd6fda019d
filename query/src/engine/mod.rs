//! The PromQL engine: parsing by the `promql-parser` crate, evaluation here.
//!
//! [`Engine::instant`] and [`Engine::range`] evaluate a query over a grid of evaluation
//! times. Every node of the expression produces its value for all steps at once
//! ([`eval`]); operators that combine series work step by step ([`steps`]). Results follow
//! Prometheus 3's semantics: left-open lookback and range windows, staleness markers,
//! delayed removal of metric names, its errors for ambiguous vector matches, and its
//! limits (timeout, samples in memory, points per series).

pub mod aggregate;
pub mod binary;
mod depth;
pub mod eval;
pub mod functions;
pub mod go_strings;
pub mod limits;
pub mod parse_error;
pub mod selection;
pub mod selector;
pub mod steps;
pub mod value;

use std::sync::{Arc, Once};
use std::time::Instant;

use promql_parser::parser::{self, Expr};
use taishan_core::{Clock, Labels, Sample, TenantId};
use taishan_store::{SeriesData, StoreError, Tsdb};

pub use limits::{Annotations, QueryLimits};

use eval::{Context, Evaluator};
use value::{labelset, Grid, Series, Value};

/// Why a query failed, in Prometheus's error categories.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query or a parameter is invalid (HTTP 400, `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// The query is valid but cannot be evaluated (HTTP 422, `execution`).
    #[error("{0}")]
    Execution(String),
    /// The query ran past its timeout (HTTP 503, `timeout`).
    #[error("{0}")]
    Timeout(String),
    /// The query would hold more samples than allowed (HTTP 422, `execution`).
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
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

/// What evaluating a query cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueryStats {
    /// Seconds spent evaluating.
    pub eval_seconds: f64,
    /// Most samples held at once.
    pub peak_samples: usize,
    /// Samples read from storage.
    pub total_samples: u64,
}

/// A query's answer: the value, its annotations and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// The result.
    pub value: QueryValue,
    /// Warnings and infos.
    pub annotations: Annotations,
    /// Costs.
    pub stats: QueryStats,
}

/// Evaluates PromQL against one store, under limits.
#[derive(Clone, Debug)]
pub struct Engine {
    db: Arc<Tsdb>,
    limits: QueryLimits,
    clock: Arc<dyn Clock>,
    default_subquery_step_ms: i64,
}

static EXTRA_FUNCTIONS: Once = Once::new();

/// Functions Prometheus 2.x users still write that the parser does not know: registered
/// once, evaluated by the same code as their newer names.
fn register_legacy_functions() {
    EXTRA_FUNCTIONS.call_once(|| {
        use promql_parser::parser::value::ValueType;
        use promql_parser::parser::Function;
        let holt_winters = Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        );
        if let Err(e) = parser::register_extra_functions(vec![holt_winters]) {
            tracing::warn!(error = %e, "could not register holt_winters");
        }
    });
}

impl Engine {
    /// An engine over `db`; `clock` times query deadlines.
    pub fn new(db: Arc<Tsdb>, limits: QueryLimits, clock: Arc<dyn Clock>) -> Self {
        register_legacy_functions();
        Self {
            db,
            limits,
            clock,
            default_subquery_step_ms: eval::DEFAULT_SUBQUERY_STEP_MS,
        }
    }

    /// The same engine resolving subqueries without a step at `step` (Prometheus uses its
    /// global evaluation interval; the default is one minute).
    pub fn with_default_subquery_step(&self, step: std::time::Duration) -> Self {
        let mut e = self.clone();
        e.default_subquery_step_ms = (step.as_millis() as i64).max(1);
        e
    }

    /// The limits in force.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// The same engine with `timeout` when it is shorter than the configured one.
    pub fn with_timeout(&self, timeout: std::time::Duration) -> Self {
        let mut e = self.clone();
        e.limits.timeout = e.limits.timeout.min(timeout);
        e
    }

    /// The store queried.
    pub fn db(&self) -> &Arc<Tsdb> {
        &self.db
    }

    /// Parses a query; the error names the position, as Prometheus's do.
    pub fn parse(query: &str) -> Result<Expr, QueryError> {
        // Before the parser builds a tree too deep to walk (or even drop) on a stack.
        let depth = depth::depth_bound(query);
        if depth > depth::MAX_DEPTH {
            return Err(QueryError::BadData(format!(
                "invalid parameter \"query\": the expression nests too deeply ({depth} operators and brackets; the limit is {}): split it, or compute parts with recording rules",
                depth::MAX_DEPTH
            )));
        }
        register_legacy_functions();
        let prepared = go_strings::prepare(query);
        parser::parse(&prepared).map_err(|e| {
            QueryError::BadData(format!(
                "invalid parameter \"query\": {}",
                parse_error::describe(&prepared, &e)
            ))
        })
    }

    /// Evaluates `query` at `t` (ms).
    pub fn instant(
        &self,
        tenant: &TenantId,
        query: &str,
        t: i64,
    ) -> Result<QueryOutput, QueryError> {
        let expr = Self::parse(query)?;
        let t = selector::clamp_time_ms(t);
        self.run(tenant, &expr, Grid::instant(t), false)
    }

    /// Evaluates `query` at every `step` from `start` to `end` (ms, inclusive).
    pub fn range(
        &self,
        tenant: &TenantId,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryOutput, QueryError> {
        if step <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(QueryError::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        let (start, end) = (selector::clamp_time_ms(start), selector::clamp_time_ms(end));
        if (end - start) / step > self.limits.max_points_per_series {
            return Err(QueryError::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                thousands(self.limits.max_points_per_series)
            )));
        }
        let expr = Self::parse(query)?;
        let kind = expr.value_type();
        use promql_parser::parser::value::ValueType;
        if !matches!(kind, ValueType::Scalar | ValueType::Vector) {
            return Err(QueryError::BadData(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_label(kind)
            )));
        }
        let grid = Grid {
            start,
            end,
            interval: step,
        };
        self.run(tenant, &expr, grid, true)
    }

    /// Evaluates a parsed expression on a grid.
    pub fn run(
        &self,
        tenant: &TenantId,
        expr: &Expr,
        grid: Grid,
        is_range: bool,
    ) -> Result<QueryOutput, QueryError> {
        let started = Instant::now();
        let budget = limits::Budget::new(&self.limits, self.clock.clone());
        let ctx = Context {
            db: &self.db,
            tenant,
            limits: &self.limits,
            budget: &budget,
            query: grid,
            is_range_query: is_range,
            default_subquery_step_ms: self.default_subquery_step_ms,
        };
        let value = Evaluator::new(&ctx, grid).eval(expr)?;
        let value = finish(value, grid, is_range)?;
        Ok(QueryOutput {
            value,
            annotations: budget.take_annotations(),
            stats: QueryStats {
                eval_seconds: started.elapsed().as_secs_f64(),
                peak_samples: budget.peak_samples(),
                total_samples: budget.total_samples(),
            },
        })
    }
}

/// `11000` as `11,000`, the way Prometheus's message prints its limit.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

fn type_label(t: promql_parser::parser::value::ValueType) -> &'static str {
    use promql_parser::parser::value::ValueType;
    match t {
        ValueType::Vector => "vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

/// Drops the names marked for dropping and shapes the result as the API reports it.
fn finish(value: Value, grid: Grid, is_range: bool) -> Result<QueryValue, QueryError> {
    let cleanup = |series: Vec<Series>| -> Result<Vec<Series>, QueryError> {
        let renamed = series
            .into_iter()
            .map(|mut s| {
                if s.drop_name {
                    s.labels = labelset::without_name(&s.labels);
                }
                s
            })
            .collect();
        steps::merge_same_labels(renamed)
    };
    Ok(match value {
        Value::Scalar(v) if is_range => QueryValue::Matrix(vec![SeriesData {
            labels: Labels::default(),
            samples: grid
                .times()
                .zip(v)
                .map(|(t, x)| Sample::new(t, x))
                .collect(),
        }]),
        Value::Scalar(v) => QueryValue::Scalar(Sample::new(
            grid.start,
            v.first().copied().unwrap_or(f64::NAN),
        )),
        Value::String(s) => QueryValue::String(grid.start, s),
        Value::Vector(series) if is_range => {
            let mut out: Vec<SeriesData> = cleanup(series)?
                .into_iter()
                .map(|s| SeriesData {
                    labels: s.labels,
                    samples: s.points,
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            QueryValue::Matrix(out)
        }
        Value::Vector(series) => QueryValue::Vector(
            cleanup(series)?
                .into_iter()
                .filter_map(|s| s.points.first().map(|p| (s.labels.clone(), *p)))
                .collect(),
        ),
        Value::Matrix(series) => QueryValue::Matrix(
            cleanup(series)?
                .into_iter()
                .map(|s| SeriesData {
                    labels: s.labels,
                    samples: s.points,
                })
                .collect(),
        ),
    })
}

/// Calls `f` on `e` and every expression inside it, a matrix selector's vector selector
/// included (as a `VectorSelector`).
pub fn each_node(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            each_node(&a.expr, f);
            if let Some(p) = &a.param {
                each_node(p, f);
            }
        }
        Expr::Unary(u) => each_node(&u.expr, f),
        Expr::Binary(b) => {
            each_node(&b.lhs, f);
            each_node(&b.rhs, f);
        }
        Expr::Paren(p) => each_node(&p.expr, f),
        Expr::Subquery(s) => each_node(&s.expr, f),
        Expr::MatrixSelector(m) => f(&Expr::VectorSelector(m.vs.clone())),
        Expr::Call(c) => c.args.args.iter().for_each(|a| each_node(a, f)),
        _ => {}
    }
}
