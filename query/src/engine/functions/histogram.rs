//! `histogram_quantile` over classic histograms (`_bucket` series with an `le` label).

use std::collections::HashMap;

use promql_parser::parser::Call;
use taishan_core::Labels;

use super::stats::almost_equal;
use super::{arg, QueryError};
use crate::engine::eval::Evaluator;
use crate::engine::steps::{by_step, Assembler};
use crate::engine::value::{format_float, labelset, Value};

/// Relative difference under which adjacent cumulative bucket counts count as equal.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// `histogram_quantile(q, buckets)`: at each step, the series that differ only in `le`
/// form one histogram; the quantile interpolates linearly inside the bucket it falls in.
pub fn histogram_quantile(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    let q = ev.eval_scalar(arg(call, 0)?)?;
    let input = ev.eval_vector(arg(call, 1)?)?;
    let grid = ev.grid;
    // Each series' histogram (its labels less `le`) and upper bound, worked out once.
    let mut index: HashMap<Labels, u32> = HashMap::new();
    let mut histograms: Vec<Labels> = Vec::new();
    let mut member: Vec<Option<(u32, f64)>> = Vec::with_capacity(input.len());
    for s in &input {
        let bound = s.labels.get("le").and_then(parse_bound);
        let Some(bound) = bound else {
            ev.ctx.budget.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                s.labels.get("le").unwrap_or(""),
                s.labels.metric_name().unwrap_or("")
            ));
            member.push(None);
            continue;
        };
        let key = labelset::drop(&s.labels, &["le".to_string()]);
        let next = histograms.len() as u32;
        let h = *index.entry(key.clone()).or_insert_with(|| {
            histograms.push(key);
            next
        });
        member.push(Some((h, bound)));
    }
    let mut out = Assembler::new();
    let slots: Vec<u32> = histograms.iter().map(|l| out.slot(l, true)).collect();
    let mut buckets: Vec<Vec<(f64, f64)>> = vec![Vec::new(); histograms.len()];
    for (i, vector) in by_step(&input, &grid).iter().enumerate() {
        let qi = q[i];
        if qi.is_nan() || !(0.0..=1.0).contains(&qi) {
            ev.ctx.budget.warn(format!(
                "PromQL warning: quantile value should be between 0 and 1, got {}",
                format_float(qi)
            ));
        }
        buckets.iter_mut().for_each(Vec::clear);
        for &(s, v) in vector {
            if let Some((h, bound)) = member[s as usize] {
                buckets[h as usize].push((bound, v));
            }
        }
        for (h, b) in buckets.iter_mut().enumerate() {
            if b.is_empty() {
                continue;
            }
            let (value, forced) = bucket_quantile(qi, b);
            if forced {
                ev.ctx.budget.info(format!(
                    "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                    histograms[h].metric_name().unwrap_or("")
                ));
            }
            out.push(slots[h], grid.ts(i), value)?;
        }
    }
    Ok(Value::Vector(out.finish()))
}

fn parse_bound(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// The quantile of cumulative `(upper bound, count)` buckets, and whether the counts had
/// to be forced monotonic.
fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return (f64::NAN, false);
    }
    // Buckets with one bound (from series differing in other ways) add up.
    buckets.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
    let forced = ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|x| x.1 < rank);
    let value = if b == buckets.len() - 1 {
        buckets[buckets.len() - 2].0
    } else if b == 0 && buckets[0].0 <= 0.0 {
        buckets[0].0
    } else {
        let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
        if b > 0 {
            start = buckets[b - 1].0;
            count -= buckets[b - 1].1;
            rank -= buckets[b - 1].1;
        }
        start + (end - start) * (rank / count)
    };
    (value, forced)
}

/// Makes cumulative counts non-decreasing, treating near-equal neighbours as equal.
/// Reports whether a real decrease had to be fixed.
fn ensure_monotonic(buckets: &mut [(f64, f64)]) -> bool {
    let mut forced = false;
    let mut prev = buckets[0].1;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            b.1 = prev;
            continue;
        }
        if curr < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Functions of native histograms: float samples hold none, so the result is empty.
pub fn native_only(ev: &Evaluator, call: &Call) -> Result<Value, QueryError> {
    for a in &call.args.args {
        ev.eval(a)?;
    }
    Ok(Value::Vector(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        let mut b = vec![(0.1, 10.0), (f64::INFINITY, 20.0), (0.2, 20.0)];
        assert!((bucket_quantile(0.25, &mut b).0 - 0.05).abs() < 1e-12);
        let mut b = vec![(0.1, 10.0), (0.2, 5.0), (f64::INFINITY, 20.0)];
        assert!(
            bucket_quantile(0.5, &mut b).1,
            "decreasing counts are fixed"
        );
        let mut no_inf = vec![(0.1, 1.0)];
        assert!(bucket_quantile(0.5, &mut no_inf).0.is_nan());
    }
}
