//! The recursive evaluator: one expression node at a time, over every step of a grid.

use std::collections::BTreeMap;

use promql_parser::parser::{
    AtModifier, Expr, MatrixSelector, Offset, SubqueryExpr, VectorSelector,
};
use taishan_core::{is_stale_marker, Labels, Sample, TenantId};
use taishan_store::{SeriesData, Tsdb};

use super::limits::{Budget, QueryLimits};
use super::selector::{self, duration_ms, RangeInput, SelectorPlan};
use super::value::{Grid, Series, Value};
use super::{aggregate, binary, functions, QueryError};

/// Default resolution of a subquery without a step (Prometheus's global evaluation interval).
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// What every node of one query shares.
pub struct Context<'a> {
    /// The store.
    pub db: &'a Tsdb,
    /// Whose data.
    pub tenant: &'a TenantId,
    /// Limits in force.
    pub limits: &'a QueryLimits,
    /// Deadline, memory account and annotations.
    pub budget: &'a Budget,
    /// The outermost query's grid: `@ start()`, `start()`, `end()`, `range()`, `step()`.
    pub query: Grid,
    /// Whether the outermost query is a range query (`step()` is 0 for instant queries).
    pub is_range_query: bool,
    /// Resolution of a subquery written without a step (ms).
    pub default_subquery_step_ms: i64,
}

/// Evaluates expressions on one grid (the query's, or a subquery's).
pub struct Evaluator<'a> {
    /// Shared state.
    pub ctx: &'a Context<'a>,
    /// Evaluation times.
    pub grid: Grid,
}

impl<'a> Evaluator<'a> {
    /// An evaluator on `grid`.
    pub fn new(ctx: &'a Context<'a>, grid: Grid) -> Self {
        Self { ctx, grid }
    }

    /// The lookback delta in ms.
    pub fn lookback_ms(&self) -> i64 {
        duration_ms(self.ctx.limits.lookback_delta)
    }

    /// Evaluates `expr`, keeping the memory account: inputs are released once the node's
    /// output exists.
    pub fn eval(&self, expr: &Expr) -> Result<Value, QueryError> {
        self.ctx.budget.check_deadline("expression evaluation")?;
        let held = self.ctx.budget.current();
        let value = self.eval_node(expr)?;
        self.ctx.budget.settle(held, value_size(&value))?;
        Ok(value)
    }

    fn eval_node(&self, expr: &Expr) -> Result<Value, QueryError> {
        let steps = self.grid.len();
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(vec![n.val; steps])),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => match self.eval(&u.expr)? {
                Value::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Value::Scalar(v))
                }
                Value::Vector(mut series) => {
                    for s in &mut series {
                        s.drop_name = true;
                        s.points.iter_mut().for_each(|p| p.value = -p.value);
                    }
                    Ok(Value::Vector(series))
                }
                other => Err(QueryError::BadData(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.vector_selector(vs, false)?)),
            Expr::MatrixSelector(ms) => {
                let input = self.matrix_selector(ms)?;
                Ok(Value::Matrix(self.windows_at_start(input)))
            }
            Expr::Subquery(sq) => {
                let input = self.subquery(sq)?;
                Ok(Value::Matrix(self.windows_at_start(input)))
            }
            Expr::Binary(b) => binary::eval(self, b),
            Expr::Aggregate(a) => aggregate::eval(self, a),
            Expr::Call(c) => functions::eval(self, c),
            Expr::Extension(_) => Err(QueryError::BadData(
                "unsupported expression extension".into(),
            )),
        }
    }

    /// Evaluates an argument that must be a number per step.
    pub fn eval_scalar(&self, expr: &Expr) -> Result<Vec<f64>, QueryError> {
        match self.eval(expr)? {
            Value::Scalar(v) => Ok(v),
            other => Err(type_error("scalar", &other)),
        }
    }

    /// Evaluates an argument that must be an instant vector.
    pub fn eval_vector(&self, expr: &Expr) -> Result<Vec<Series>, QueryError> {
        match self.eval(expr)? {
            Value::Vector(v) => Ok(v),
            other => Err(type_error("instant vector", &other)),
        }
    }

    /// Hands each series `plan` selects, with its samples in `[min_t, max_t]`, to `f` in
    /// label order (the union over the plan's alternative matcher sets). One series' samples
    /// are held at a time and charged to the query's account while they are.
    fn for_each_series(
        &self,
        plan: &SelectorPlan,
        min_t: i64,
        max_t: i64,
        mut f: impl FnMut(Labels, &mut Vec<Sample>) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        let (db, tenant, budget) = (self.ctx.db, self.ctx.tenant, self.ctx.budget);
        let mut failed = None;
        let mut visit = |labels: Labels, samples: &mut Vec<Sample>| {
            if failed.is_some() {
                return;
            }
            let n = samples.len();
            let step = budget.load(n).and_then(|()| f(labels, samples));
            budget.release(n);
            if let Err(e) = step {
                failed = Some(e);
            }
        };
        if plan.matcher_sets.len() == 1 {
            db.select_each(tenant, &plan.matcher_sets[0], min_t, max_t, &mut visit)?;
        } else {
            let mut union: BTreeMap<Labels, SeriesData> = BTreeMap::new();
            for set in &plan.matcher_sets {
                for s in db.select(tenant, set, min_t, max_t)? {
                    union.entry(s.labels.clone()).or_insert(s);
                }
            }
            for (labels, mut s) in union {
                visit(labels, &mut s.samples);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// An instant vector selector over the grid. With `as_timestamp`, each value is the
    /// time of the sample chosen (what `timestamp()` of a selector reports).
    pub fn vector_selector(
        &self,
        vs: &VectorSelector,
        as_timestamp: bool,
    ) -> Result<Vec<Series>, QueryError> {
        let q = self.ctx.query;
        let plan = SelectorPlan::new(vs, q.start, q.end)?;
        let lookback = self.lookback_ms();
        let (first, last) = self.data_span(plan.at_ms, plan.offset_ms);
        let mut out = Vec::new();
        let budget = self.ctx.budget;
        self.for_each_series(&plan, first - lookback + 1, last, |labels, samples| {
            let points =
                selector::instant_points(samples, &plan, &self.grid, lookback, as_timestamp);
            if !points.is_empty() {
                // The points stay: count them now, so a huge selection fails early.
                budget.charge(points.len())?;
                out.push(Series {
                    labels,
                    points,
                    drop_name: false,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The data times the grid's evaluations read, first and last, given `@` and `offset`.
    fn data_span(&self, at_ms: Option<i64>, offset_ms: i64) -> (i64, i64) {
        match at_ms {
            Some(at) => (at - offset_ms, at - offset_ms),
            None => (self.grid.start - offset_ms, self.grid.end - offset_ms),
        }
    }

    /// The samples a range selector's windows need, for every step of the grid.
    pub fn matrix_selector(&self, ms: &MatrixSelector) -> Result<RangeInput, QueryError> {
        let budget = self.ctx.budget;
        let mut series = Vec::new();
        let windows = self.matrix_selector_each(ms, |_, s| {
            // Kept for the caller: they stay counted.
            budget.charge(s.points.len())?;
            series.push(s);
            Ok(())
        })?;
        Ok(RangeInput { series, ..windows })
    }

    /// Hands each series a range selector selects to `f`, with every sample its windows on
    /// the grid need (staleness markers removed), one series at a time, together with how
    /// to find the windows (a [`RangeInput`] without series, also returned).
    pub fn matrix_selector_each(
        &self,
        ms: &MatrixSelector,
        mut f: impl FnMut(&RangeInput, Series) -> Result<(), QueryError>,
    ) -> Result<RangeInput, QueryError> {
        let q = self.ctx.query;
        let plan = SelectorPlan::new(&ms.vs, q.start, q.end)?;
        let windows = RangeInput {
            series: Vec::new(),
            range_ms: duration_ms(ms.range),
            offset_ms: plan.offset_ms,
            at_ms: plan.at_ms,
        };
        let (first, last) = self.data_span(plan.at_ms, plan.offset_ms);
        self.for_each_series(
            &plan,
            first - windows.range_ms + 1,
            last,
            |labels, samples| {
                let mut points = std::mem::take(samples);
                points.retain(|x| !is_stale_marker(x.value));
                if points.is_empty() {
                    return Ok(());
                }
                let s = Series {
                    labels,
                    points,
                    drop_name: false,
                };
                f(&windows, s)
            },
        )?;
        Ok(windows)
    }

    /// Evaluates a subquery's inner expression on its own grid, as a range input.
    pub fn subquery(&self, sq: &SubqueryExpr) -> Result<RangeInput, QueryError> {
        let q = self.ctx.query;
        let offset_ms = match &sq.offset {
            None => 0,
            Some(Offset::Pos(d)) => duration_ms(*d),
            Some(Offset::Neg(d)) => -duration_ms(*d),
        };
        let at_ms = match &sq.at {
            None => None,
            Some(AtModifier::Start) => Some(q.start),
            Some(AtModifier::End) => Some(q.end),
            Some(AtModifier::At(t)) => Some(selector::system_time_ms(*t)),
        };
        let range_ms = duration_ms(sq.range);
        let interval = match sq.step {
            Some(step) if !step.is_zero() => duration_ms(step),
            _ => self.ctx.default_subquery_step_ms,
        };
        let outer = match at_ms {
            Some(at) => Grid::instant(at),
            None => self.grid,
        };
        // The outer loop stops at its last whole step, so the subquery does too.
        let outer_end = outer.start + (outer.end - outer.start) / outer.interval * outer.interval;
        let end = outer_end - offset_ms;
        // The first time after (start - offset - range) on the subquery's own step grid.
        let from = outer.start - offset_ms - range_ms;
        let mut start = interval * (from / interval);
        if start <= from {
            start += interval;
        }
        self.check_subquery_grid(range_ms, interval, start, end)?;
        let inner = Evaluator::new(
            self.ctx,
            Grid {
                start,
                end,
                interval,
            },
        );
        let series = if end < start {
            Vec::new()
        } else {
            match inner.eval(&sq.expr)? {
                Value::Vector(v) => v,
                Value::Scalar(v) => vec![Series {
                    labels: Labels::default(),
                    points: inner
                        .grid
                        .times()
                        .zip(v)
                        .map(|(t, x)| taishan_core::Sample::new(t, x))
                        .collect(),
                    drop_name: false,
                }],
                other => return Err(type_error("instant vector", &other)),
            }
        };
        Ok(RangeInput {
            series,
            range_ms,
            offset_ms,
            at_ms,
        })
    }

    /// Refuses a subquery grid too fine for its window, as a range query's points are
    /// capped, and one whose steps alone would pass the sample budget: checked before the
    /// inner expression allocates a value per step.
    fn check_subquery_grid(
        &self,
        range_ms: i64,
        interval: i64,
        start: i64,
        end: i64,
    ) -> Result<(), QueryError> {
        let limit = self.ctx.limits.max_points_per_series;
        let per_window = range_ms / interval;
        if per_window > limit {
            return Err(QueryError::BadData(format!(
                "subquery evaluates {} steps per window, more than the {} points a query may have per series (query.max_points_per_series): widen the subquery's step or shorten its range",
                super::thousands(per_window),
                super::thousands(limit)
            )));
        }
        let steps = match end < start {
            true => 0,
            false => (end - start) / interval + 1,
        };
        let room = self
            .ctx
            .limits
            .max_samples
            .saturating_sub(self.ctx.budget.current());
        if usize::try_from(steps).map_or(true, |steps| steps > room) {
            return Err(QueryError::TooManySamples);
        }
        Ok(())
    }

    /// The windows of a range input at the grid's (only) evaluation time: the value of a
    /// range vector expression in an instant query.
    fn windows_at_start(&self, input: RangeInput) -> Vec<Series> {
        let end = input.window_end(self.grid.start);
        let range = input.range_ms;
        input
            .series
            .into_iter()
            .filter_map(|mut s| {
                let (lo, hi) = selector::window(&s.points, end, range, (0, 0));
                s.points.truncate(hi);
                s.points.drain(..lo);
                (!s.points.is_empty()).then_some(s)
            })
            .collect()
    }
}

/// How many samples a value holds.
pub fn value_size(v: &Value) -> usize {
    match v {
        Value::Scalar(x) => x.len(),
        Value::Vector(s) | Value::Matrix(s) => s.iter().map(|s| s.points.len()).sum(),
        Value::String(_) => 1,
    }
}

/// A value of the wrong type where `wanted` was required.
pub fn type_error(wanted: &str, got: &Value) -> QueryError {
    QueryError::BadData(format!("expected type {wanted}, got {}", got.type_name()))
}
