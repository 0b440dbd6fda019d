//! Functions over whole vectors: `absent`, `absent_over_time`, `scalar`, `vector`, `sort`,
//! `sort_desc`.

use std::cmp::Ordering;

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Call, Expr};
use taishan_core::{Labels, Sample, METRIC_NAME};

use super::{arg, range_input, QueryError};
use crate::engine::eval::Evaluator;
use crate::engine::steps::by_step;
use crate::engine::value::{labelset, Series, Value};

/// The labels `absent` reports: the selector's equality matchers (a name matched twice is
/// left out, as Prometheus has always done).
fn absent_labels(e: &Expr) -> Labels {
    let vs = match e {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let mut labels = Labels::default();
    let mut has: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, PMatchOp::Equal) && !has.contains(&m.name.as_str()) {
            labels = labelset::set(&labels, &m.name, &m.value);
            has.push(&m.name);
        } else {
            labels = labelset::set(&labels, &m.name, "");
        }
    }
    labels
}

/// `absent(v)`: 1 at the steps where `v` is empty.
pub fn absent(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let e = arg(call, 0)?;
    let input = ev.eval_vector(e)?;
    let steps = by_step(&input, &ev.grid);
    let points: Vec<Sample> = steps
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_empty())
        .map(|(i, _)| Sample::new(ev.grid.ts(i), 1.0))
        .collect();
    Ok(Value::Vector(one_series(absent_labels(e), points)))
}

/// `absent_over_time(m)`: 1 at the steps where no series has a sample in the window.
pub fn absent_over_time(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let e = arg(call, 0)?;
    let input = range_input(ev, e)?;
    let grid = ev.grid;
    let mut present = vec![false; grid.len()];
    for s in &input.series {
        let mut bounds = (0, 0);
        for (i, ts) in grid.times().enumerate() {
            bounds = crate::engine::selector::window(
                &s.points,
                input.window_end(ts),
                input.range_ms,
                bounds,
            );
            present[i] |= bounds.0 < bounds.1;
        }
    }
    let points = present
        .iter()
        .enumerate()
        .filter(|(_, p)| !**p)
        .map(|(i, _)| Sample::new(grid.ts(i), 1.0))
        .collect();
    let mut out = one_series(absent_labels(e), points);
    out.iter_mut().for_each(|s| s.drop_name = true);
    Ok(Value::Vector(out))
}

fn one_series(labels: Labels, points: Vec<Sample>) -> Vec<Series> {
    if points.is_empty() {
        return Vec::new();
    }
    vec![Series {
        labels,
        points,
        drop_name: false,
    }]
}

/// `scalar(v)`: the single value of `v`, or NaN when it has none or several.
pub fn scalar(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let input = ev.eval_vector(arg(call, 0)?)?;
    Ok(Value::Scalar(
        by_step(&input, &ev.grid)
            .iter()
            .map(|v| match v.as_slice() {
                [(_, x)] => *x,
                _ => f64::NAN,
            })
            .collect(),
    ))
}

/// `vector(s)`: the scalar as a series without labels.
pub fn vector(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let values = ev.eval_scalar(arg(call, 0)?)?;
    let points = ev
        .grid
        .times()
        .zip(values)
        .map(|(t, v)| Sample::new(t, v))
        .collect();
    Ok(Value::Vector(one_series(Labels::default(), points)))
}

/// Sorting only orders instant results; range results are always ordered by labels.
pub fn warn_sort_in_range_query(ev: &Evaluator) {
    if !ev.grid.is_instant() {
        ev.ctx.budget.warn(
            "PromQL warning: sort is ineffective for range queries since results are always ordered by labels".into(),
        );
    }
}

fn sorted(ev: &Evaluator, call: &Call, desc: bool) -> Result<Value, QueryError> {
    warn_sort_in_range_query(ev);
    let mut series = ev.eval_vector(arg(call, 0)?)?;
    let value = |s: &Series| s.points.first().map_or(f64::NAN, |p| p.value);
    // NaN last either way.
    series.sort_by(|a, b| {
        let (x, y) = (value(a), value(b));
        match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if desc => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
            _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        }
    });
    Ok(Value::Vector(series))
}

/// `sort(v)`: ascending by value.
pub fn sort(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    sorted(ev, call, false)
}

/// `sort_desc(v)`: descending by value.
pub fn sort_desc(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    sorted(ev, call, true)
}
