//! PromQL functions: one registry ([`FUNCTIONS`]) naming every function with its typed
//! implementation, and the evaluation shapes they share.
//!
//! Most functions fall into a few shapes: over the windows of a range vector
//! ([`Implementation::Range`]), value by value over an instant vector
//! ([`Implementation::Elementwise`]), calendar fields of a time, numbers of the query
//! itself. The rest, which work on whole series or whole vectors (`label_replace`,
//! `histogram_quantile`, `sort`, `absent`...), have their own evaluation.

pub mod calendar;
mod histogram;
mod labels;
mod math;
mod over_time;
mod rate;
pub mod stats;
mod trend;
mod vector;

use promql_parser::parser::{Call, Expr};
use taishan_core::Sample;

use super::eval::Evaluator;
use super::limits::Budget;
use super::selector::{self, RangeInput};
use super::value::{Series, Value};
use super::QueryError;

/// One window of one series, as a range function sees it.
pub struct Window<'a> {
    /// Samples in `(range_start, range_end]`, oldest first, no staleness markers.
    pub samples: &'a [Sample],
    /// Exclusive start of the window (ms).
    pub range_start: i64,
    /// Inclusive end of the window (ms).
    pub range_end: i64,
    /// The evaluation time (ms), which differs from `range_end` under `offset` and `@`.
    pub ts: i64,
    /// Scalar arguments besides the range vector, at this step.
    pub args: &'a [f64],
    /// Where warnings go (none in unit tests).
    pub budget: Option<&'a Budget>,
}

impl Window<'_> {
    /// Records a warning for the query.
    pub fn warn(&self, message: impl FnOnce() -> String) {
        if let Some(b) = self.budget {
            b.warn(message());
        }
    }

    /// The window length in seconds.
    pub fn range_seconds(&self) -> f64 {
        (self.range_end - self.range_start) as f64 / 1000.0
    }
}

/// A range function: the value for one window, or none.
pub type RangeFn = fn(&Window) -> Result<Option<f64>, QueryError>;

/// A function with its own evaluation.
pub type SpecialFn = fn(&Evaluator, &Call) -> Result<Value, QueryError>;

/// How a function is evaluated.
#[derive(Clone, Copy)]
pub enum Implementation {
    /// Over each window of its range-vector argument. `keeps_name`: the result still is the
    /// metric (`last_over_time`, `first_over_time`).
    Range { f: RangeFn, keeps_name: bool },
    /// Value by value over its instant-vector argument.
    Elementwise(fn(f64) -> f64),
    /// Value by value, with the scalar arguments that follow the vector; `None` drops the
    /// value.
    ElementwiseWithArgs(fn(f64, &[f64]) -> Option<f64>),
    /// A calendar field (UTC) of the argument's values as Unix seconds, or of the evaluation
    /// time when there is no argument.
    Calendar(fn(i64) -> f64),
    /// From scalars to a scalar.
    Scalars(fn(&[f64]) -> f64),
    /// Evaluated on its own.
    Special(SpecialFn),
}

/// Every function, by name.
pub const FUNCTIONS: &[(&str, Implementation)] = &[
    // Rates and deltas of counters and gauges.
    ("rate", range(rate::rate)),
    ("increase", range(rate::increase)),
    ("delta", range(rate::delta)),
    ("irate", range(rate::irate)),
    ("idelta", range(rate::idelta)),
    // Aggregations over time.
    ("avg_over_time", range(over_time::avg)),
    ("sum_over_time", range(over_time::sum)),
    ("count_over_time", range(over_time::count)),
    ("min_over_time", range(over_time::min)),
    ("max_over_time", range(over_time::max)),
    ("stddev_over_time", range(over_time::stddev)),
    ("stdvar_over_time", range(over_time::stdvar)),
    ("quantile_over_time", range(over_time::quantile)),
    ("mad_over_time", range(over_time::mad)),
    ("present_over_time", range(over_time::present)),
    (
        "last_over_time",
        Implementation::Range {
            f: over_time::last,
            keeps_name: true,
        },
    ),
    (
        "first_over_time",
        Implementation::Range {
            f: over_time::first,
            keeps_name: true,
        },
    ),
    ("ts_of_last_over_time", range(over_time::ts_of_last)),
    ("ts_of_first_over_time", range(over_time::ts_of_first)),
    ("ts_of_max_over_time", range(over_time::ts_of_max)),
    ("ts_of_min_over_time", range(over_time::ts_of_min)),
    ("changes", range(over_time::changes)),
    ("resets", range(over_time::resets)),
    (
        "absent_over_time",
        Implementation::Special(vector::absent_over_time),
    ),
    // Trends.
    ("deriv", range(trend::deriv)),
    ("predict_linear", range(trend::predict_linear)),
    (
        "double_exponential_smoothing",
        range(trend::double_exponential_smoothing),
    ),
    ("holt_winters", range(trend::double_exponential_smoothing)),
    // Math, value by value.
    ("abs", Implementation::Elementwise(f64::abs)),
    ("ceil", Implementation::Elementwise(f64::ceil)),
    ("floor", Implementation::Elementwise(f64::floor)),
    ("exp", Implementation::Elementwise(f64::exp)),
    ("sqrt", Implementation::Elementwise(f64::sqrt)),
    ("ln", Implementation::Elementwise(f64::ln)),
    ("log2", Implementation::Elementwise(f64::log2)),
    ("log10", Implementation::Elementwise(f64::log10)),
    ("sgn", Implementation::Elementwise(math::sgn)),
    ("sin", Implementation::Elementwise(f64::sin)),
    ("cos", Implementation::Elementwise(f64::cos)),
    ("tan", Implementation::Elementwise(f64::tan)),
    ("asin", Implementation::Elementwise(f64::asin)),
    ("acos", Implementation::Elementwise(f64::acos)),
    ("atan", Implementation::Elementwise(f64::atan)),
    ("sinh", Implementation::Elementwise(f64::sinh)),
    ("cosh", Implementation::Elementwise(f64::cosh)),
    ("tanh", Implementation::Elementwise(f64::tanh)),
    ("asinh", Implementation::Elementwise(f64::asinh)),
    ("acosh", Implementation::Elementwise(f64::acosh)),
    ("atanh", Implementation::Elementwise(f64::atanh)),
    ("rad", Implementation::Elementwise(math::rad)),
    ("deg", Implementation::Elementwise(math::deg)),
    ("round", Implementation::ElementwiseWithArgs(math::round)),
    ("clamp", Implementation::ElementwiseWithArgs(math::clamp)),
    (
        "clamp_min",
        Implementation::ElementwiseWithArgs(math::clamp_min),
    ),
    (
        "clamp_max",
        Implementation::ElementwiseWithArgs(math::clamp_max),
    ),
    // Scalars.
    ("pi", Implementation::Scalars(math::pi)),
    ("min_of", Implementation::Scalars(math::min_of)),
    ("max_of", Implementation::Scalars(math::max_of)),
    ("time", Implementation::Special(calendar::time)),
    ("start", Implementation::Special(calendar::query_start)),
    ("end", Implementation::Special(calendar::query_end)),
    ("range", Implementation::Special(calendar::query_range)),
    ("step", Implementation::Special(calendar::query_step)),
    // Calendar.
    ("year", Implementation::Calendar(calendar::year)),
    ("month", Implementation::Calendar(calendar::month)),
    (
        "day_of_month",
        Implementation::Calendar(calendar::day_of_month),
    ),
    (
        "day_of_week",
        Implementation::Calendar(calendar::day_of_week),
    ),
    (
        "day_of_year",
        Implementation::Calendar(calendar::day_of_year),
    ),
    (
        "days_in_month",
        Implementation::Calendar(calendar::days_in_month),
    ),
    ("hour", Implementation::Calendar(calendar::hour)),
    ("minute", Implementation::Calendar(calendar::minute)),
    ("timestamp", Implementation::Special(calendar::timestamp)),
    // Whole vectors.
    ("absent", Implementation::Special(vector::absent)),
    ("scalar", Implementation::Special(vector::scalar)),
    ("vector", Implementation::Special(vector::vector)),
    ("sort", Implementation::Special(vector::sort)),
    ("sort_desc", Implementation::Special(vector::sort_desc)),
    (
        "sort_by_label",
        Implementation::Special(labels::sort_by_label),
    ),
    (
        "sort_by_label_desc",
        Implementation::Special(labels::sort_by_label_desc),
    ),
    (
        "label_replace",
        Implementation::Special(labels::label_replace),
    ),
    ("label_join", Implementation::Special(labels::label_join)),
    (
        "histogram_quantile",
        Implementation::Special(histogram::histogram_quantile),
    ),
    // Native-histogram functions: float samples carry no histogram, so nothing results.
    (
        "histogram_count",
        Implementation::Special(histogram::native_only),
    ),
    (
        "histogram_sum",
        Implementation::Special(histogram::native_only),
    ),
    (
        "histogram_avg",
        Implementation::Special(histogram::native_only),
    ),
    (
        "histogram_stddev",
        Implementation::Special(histogram::native_only),
    ),
    (
        "histogram_stdvar",
        Implementation::Special(histogram::native_only),
    ),
    (
        "histogram_fraction",
        Implementation::Special(histogram::native_only),
    ),
];

const fn range(f: RangeFn) -> Implementation {
    Implementation::Range {
        f,
        keeps_name: false,
    }
}

/// The implementation of function `name`.
pub fn lookup(name: &str) -> Option<Implementation> {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, imp)| *imp)
}

/// Evaluates a function call.
pub fn eval(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let name = call.func.name;
    let Some(imp) = lookup(name) else {
        return Err(QueryError::BadData(format!(
            "function {name:?} is not supported by this engine"
        )));
    };
    let args = &call.args.args;
    match imp {
        Implementation::Range { f, keeps_name } => eval_range(ev, call, f, keeps_name),
        Implementation::Elementwise(f) => {
            let mut series = ev.eval_vector(arg(call, 0)?)?;
            for s in &mut series {
                s.drop_name = true;
                s.points.iter_mut().for_each(|p| p.value = f(p.value));
            }
            Ok(Value::Vector(series))
        }
        Implementation::ElementwiseWithArgs(f) => {
            let mut series = ev.eval_vector(arg(call, 0)?)?;
            let extra = args[1..]
                .iter()
                .map(|a| ev.eval_scalar(a))
                .collect::<Result<Vec<_>, _>>()?;
            let mut buf = Vec::with_capacity(extra.len());
            let grid = ev.grid;
            for s in &mut series {
                s.drop_name = true;
                s.points.retain_mut(|p| {
                    let i = grid.index_of(p.timestamp_ms);
                    buf.clear();
                    buf.extend(extra.iter().map(|e| e[i]));
                    match f(p.value, &buf) {
                        Some(v) => {
                            p.value = v;
                            true
                        }
                        None => false,
                    }
                });
            }
            series.retain(|s| !s.points.is_empty());
            Ok(Value::Vector(series))
        }
        Implementation::Calendar(f) => calendar::eval(ev, call, f),
        Implementation::Scalars(f) => {
            let vals = args
                .iter()
                .map(|a| ev.eval_scalar(a))
                .collect::<Result<Vec<_>, _>>()?;
            let mut buf = Vec::with_capacity(vals.len());
            Ok(Value::Scalar(
                (0..ev.grid.len())
                    .map(|i| {
                        buf.clear();
                        buf.extend(vals.iter().map(|v| v[i]));
                        f(&buf)
                    })
                    .collect(),
            ))
        }
        Implementation::Special(f) => f(ev, call),
    }
}

/// Argument `i` of a call.
pub fn arg(call: &Call, i: usize) -> Result<&Expr, QueryError> {
    call.args
        .args
        .get(i)
        .map(|b| unwrap_parens(b))
        .ok_or_else(|| {
            QueryError::BadData(format!(
                "function {:?} is missing argument {}",
                call.func.name,
                i + 1
            ))
        })
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// A string-literal argument.
pub fn string_arg(call: &Call, i: usize) -> Result<String, QueryError> {
    match arg(call, i)? {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        other => Err(QueryError::BadData(format!(
            "expected a string as argument {} of {:?}, got {other}",
            i + 1,
            call.func.name
        ))),
    }
}

/// The range-vector argument of a call, evaluated to its series and windows.
pub fn range_input(ev: &Evaluator, e: &Expr) -> Result<RangeInput, QueryError> {
    match e {
        Expr::MatrixSelector(ms) => ev.matrix_selector(ms),
        Expr::Subquery(sq) => ev.subquery(sq),
        Expr::Paren(p) => range_input(ev, &p.expr),
        other => Err(QueryError::BadData(format!(
            "expected a range vector, got {other}"
        ))),
    }
}

/// Applies a range function to every window of its range-vector argument.
fn eval_range(
    ev: &Evaluator,
    call: &Call,
    f: RangeFn,
    keeps_name: bool,
) -> Result<Value, QueryError> {
    let args = &call.args.args;
    let matrix_at = args
        .iter()
        .position(|a| {
            matches!(
                unwrap_parens(a),
                Expr::MatrixSelector(_) | Expr::Subquery(_)
            )
        })
        .ok_or_else(|| {
            QueryError::BadData(format!("{} needs a range vector argument", call.func.name))
        })?;
    let scalars = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != matrix_at)
        .map(|(_, a)| ev.eval_scalar(a))
        .collect::<Result<Vec<_>, _>>()?;
    let counter_fn = matches!(call.func.name, "rate" | "increase");
    let mut out = Vec::new();
    let mut n = 0usize;
    let mut apply = |s: Series, windows: &RangeInput| -> Result<(), QueryError> {
        if n % 1024 == 0 {
            ev.ctx.budget.check_deadline("function evaluation")?;
        }
        n += 1;
        let points = windows_of(ev, &s, windows, &scalars, f)?;
        if points.is_empty() {
            return Ok(());
        }
        if counter_fn {
            note_possible_non_counter(ev, &s.labels);
        }
        ev.ctx.budget.charge(points.len())?;
        out.push(Series {
            labels: s.labels,
            points,
            drop_name: !keeps_name || s.drop_name,
        });
        Ok(())
    };
    match unwrap_parens(&args[matrix_at]) {
        // Straight from storage, one series at a time.
        Expr::MatrixSelector(ms) => {
            ev.matrix_selector_each(ms, |windows, s| apply(s, windows))?;
        }
        other => {
            let mut input = range_input(ev, other)?;
            let series = std::mem::take(&mut input.series);
            for s in series {
                apply(s, &input)?;
            }
        }
    }
    Ok(Value::Vector(out))
}

/// The function's value at every step of the grid for one series.
fn windows_of(
    ev: &Evaluator,
    s: &Series,
    input: &RangeInput,
    scalars: &[Vec<f64>],
    f: RangeFn,
) -> Result<Vec<Sample>, QueryError> {
    let grid = ev.grid;
    let mut points = Vec::with_capacity(grid.len());
    let mut step_args = Vec::with_capacity(scalars.len());
    let mut bounds = (0, 0);
    for (i, ts) in grid.times().enumerate() {
        let end = input.window_end(ts);
        bounds = selector::window(&s.points, end, input.range_ms, bounds);
        if bounds.0 == bounds.1 {
            continue;
        }
        step_args.clear();
        step_args.extend(scalars.iter().map(|v| v[i]));
        let w = Window {
            samples: &s.points[bounds.0..bounds.1],
            range_start: end - input.range_ms,
            range_end: end,
            ts,
            args: &step_args,
            budget: Some(ev.ctx.budget),
        };
        if let Some(v) = f(&w)? {
            points.push(Sample::new(ts, v));
        }
    }
    Ok(points)
}

/// Prometheus's hint that `rate`/`increase` may be applied to a gauge.
fn note_possible_non_counter(ev: &Evaluator, labels: &taishan_core::Labels) {
    if let Some(name) = labels.metric_name() {
        if !["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        {
            ev.ctx.budget.info(format!(
                "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            ));
        }
    }
}
