//! Time: `time()`, the query's own `start()`/`end()`/`range()`/`step()`, `timestamp()`,
//! and calendar fields in UTC (`hour`, `day_of_week`, `days_in_month`, ...).

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

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_of(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// Year.
pub fn year(secs: i64) -> f64 {
    civil(days_of(secs)).0 as f64
}

/// Month, 1-12.
pub fn month(secs: i64) -> f64 {
    civil(days_of(secs)).1 as f64
}

/// Day of the month, 1-31.
pub fn day_of_month(secs: i64) -> f64 {
    civil(days_of(secs)).2 as f64
}

/// Day of the week, 0 (Sunday) to 6.
pub fn day_of_week(secs: i64) -> f64 {
    // 1970-01-01 was a Thursday.
    (days_of(secs) + 4).rem_euclid(7) as f64
}

/// Day of the year, 1-366.
pub fn day_of_year(secs: i64) -> f64 {
    let days = days_of(secs);
    let (y, _, _) = civil(days);
    let jan1 = days_from_civil(y, 1, 1);
    (days - jan1 + 1) as f64
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in the month, 28-31.
pub fn days_in_month(secs: i64) -> f64 {
    let (y, m, _) = civil(days_of(secs));
    let n = match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    f64::from(n)
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
    }
}
