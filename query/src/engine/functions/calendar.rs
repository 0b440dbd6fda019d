//! Time: `time()`, the query's own `start()`/`end()`/`range()`/`step()`, `timestamp()`,
//! and calendar fields in UTC (`hour`, `day_of_week`, `days_in_month`, ...).

use chrono::{DateTime, Datelike, Months, NaiveDate};
use promql_parser::parser::{Call, Expr};
use taishan_core::{Labels, Sample};

use super::{arg, QueryError};
use crate::engine::eval::Evaluator;
use crate::engine::value::{Series, Value};

/// `time()`: the evaluation time in seconds.
pub fn time(ev: &Evaluator, _: &Call) -> Result<Value, QueryError> {
    Ok(Value::Scalar(
        ev.grid.times().map(|t| t as f64 / 1000.0).collect(),
    ))
}

fn constant(ev: &Evaluator, v: f64) -> Value {
    Value::Scalar(vec![v; ev.grid.len()])
}

/// `start()`: the query's start in seconds.
pub fn query_start(ev: &Evaluator, _: &Call) -> Result<Value, QueryError> {
    Ok(constant(ev, ev.ctx.query.start as f64 / 1000.0))
}

/// `end()`: the query's end in seconds.
pub fn query_end(ev: &Evaluator, _: &Call) -> Result<Value, QueryError> {
    Ok(constant(ev, ev.ctx.query.end as f64 / 1000.0))
}

/// `range()`: the query's span in seconds.
pub fn query_range(ev: &Evaluator, _: &Call) -> Result<Value, QueryError> {
    let q = ev.ctx.query;
    Ok(constant(ev, (q.end - q.start) as f64 / 1000.0))
}

/// `step()`: the query's step in seconds (0 for an instant query).
pub fn query_step(ev: &Evaluator, _: &Call) -> Result<Value, QueryError> {
    let step = if ev.ctx.is_range_query {
        ev.ctx.query.interval as f64 / 1000.0
    } else {
        0.0
    };
    Ok(constant(ev, step))
}

/// `timestamp(v)`: the time of each sample. For a selector that is the stored sample's
/// time; for anything computed, the evaluation time.
pub fn timestamp(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let mut series = match arg(call, 0)? {
        Expr::VectorSelector(vs) => ev.vector_selector(vs, true)?,
        other => {
            let mut v = ev.eval_vector(other)?;
            for s in &mut v {
                s.points
                    .iter_mut()
                    .for_each(|p| p.value = p.timestamp_ms as f64 / 1000.0);
            }
            v
        }
    };
    series.iter_mut().for_each(|s| s.drop_name = true);
    Ok(Value::Vector(series))
}

/// A calendar function: over its argument's values, or the evaluation time.
pub fn eval(ev: &Evaluator, call: &Call, f: fn(i64) -> f64) -> Result<Value, QueryError> {
    if call.args.args.is_empty() {
        let points = ev
            .grid
            .times()
            .map(|t| Sample::new(t, f(t.div_euclid(1000))))
            .collect();
        return Ok(Value::Vector(vec![Series {
            labels: Labels::default(),
            points,
            drop_name: false,
        }]));
    }
    let mut series = ev.eval_vector(arg(call, 0)?)?;
    for s in &mut series {
        s.drop_name = true;
        // Go converts with int64(f): truncation, saturating like Rust's `as`.
        s.points
            .iter_mut()
            .for_each(|p| p.value = f(p.value as i64));
    }
    Ok(Value::Vector(series))
}

/// The UTC date of `secs` since the epoch; `None` beyond the years chrono represents
/// (about ±262,000), where the calendar functions answer NaN.
fn date_of(secs: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(secs, 0).map(|t| t.date_naive())
}

fn field(secs: i64, f: impl Fn(NaiveDate) -> u32) -> f64 {
    date_of(secs).map_or(f64::NAN, |d| f64::from(f(d)))
}

/// Year.
pub fn year(secs: i64) -> f64 {
    date_of(secs).map_or(f64::NAN, |d| f64::from(d.year()))
}

/// Month, 1-12.
pub fn month(secs: i64) -> f64 {
    field(secs, |d| d.month())
}

/// Day of the month, 1-31.
pub fn day_of_month(secs: i64) -> f64 {
    field(secs, |d| d.day())
}

/// Day of the week, 0 (Sunday) to 6.
pub fn day_of_week(secs: i64) -> f64 {
    field(secs, |d| d.weekday().num_days_from_sunday())
}

/// Day of the year, 1-366.
pub fn day_of_year(secs: i64) -> f64 {
    field(secs, |d| d.ordinal())
}

/// Days in the month, 28-31.
pub fn days_in_month(secs: i64) -> f64 {
    field(secs, |d| {
        let first = d.with_day(1).unwrap_or(d);
        let next = first.checked_add_months(Months::new(1));
        next.map_or(31, |n| n.signed_duration_since(first).num_days() as u32)
    })
}

/// Hour of the day, 0-23.
pub fn hour(secs: i64) -> f64 {
    (secs.rem_euclid(86_400) / 3600) as f64
}

/// Minute of the hour, 0-59.
pub fn minute(secs: i64) -> f64 {
    (secs.rem_euclid(3600) / 60) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields_in_utc() {
        // 2024-02-29T13:45:00Z, a Thursday.
        let t = 1_709_214_300;
        assert_eq!(year(t), 2024.0);
        assert_eq!(month(t), 2.0);
        assert_eq!(day_of_month(t), 29.0);
        assert_eq!(day_of_week(t), 4.0);
        assert_eq!(day_of_year(t), 60.0);
        assert_eq!(days_in_month(t), 29.0);
        assert_eq!(hour(t), 13.0);
        assert_eq!(minute(t), 45.0);
        assert_eq!(year(-1), 1969.0);
        assert_eq!(day_of_year(0), 1.0);
        assert_eq!(days_in_month(1_735_603_200), 31.0, "2024-12-31");
        assert!(year(i64::MAX).is_nan());
    }
}
