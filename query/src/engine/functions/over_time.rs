//! Aggregations over the samples of a window (`*_over_time`), `changes` and `resets`.

use super::stats::{kahan_inc, quantile as quantile_of};
use super::{QueryError, Window};

type Answer = Result<Option<f64>, QueryError>;

fn values<'a>(w: &Window<'a>) -> impl Iterator<Item = f64> + 'a {
    w.samples.iter().map(|s| s.value)
}

/// Mean of the window: a compensated sum, switching to an incremental mean on overflow.
pub fn avg(w: &Window) -> Answer {
    let mut it = values(w);
    let Some(first) = it.next() else {
        return Ok(None);
    };
    let (mut sum, mut c, mut count) = (first, 0.0, 1.0);
    let (mut mean, mut incremental) = (0.0, false);
    for f in it {
        count += 1.0;
        if !incremental {
            let (s, nc) = kahan_inc(f, sum, c);
            if !s.is_infinite() {
                (sum, c) = (s, nc);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(f / count, q * mean, q * c);
    }
    Ok(Some(if incremental {
        mean + c
    } else {
        sum / count + c / count
    }))
}

/// Compensated sum of the window.
pub fn sum(w: &Window) -> Answer {
    let (mut s, mut c) = (0.0, 0.0);
    for f in values(w) {
        (s, c) = kahan_inc(f, s, c);
    }
    Ok(Some(if s.is_infinite() { s } else { s + c }))
}

/// Number of samples.
pub fn count(w: &Window) -> Answer {
    Ok(Some(w.samples.len() as f64))
}

/// The sample that wins `better` (a NaN always loses), as value or as time.
fn pick(w: &Window, better: fn(f64, f64) -> bool, as_time: bool) -> Answer {
    let Some(first) = w.samples.first() else {
        return Ok(None);
    };
    let mut best = *first;
    for s in w.samples {
        if better(s.value, best.value) || best.value.is_nan() {
            best = *s;
        }
    }
    Ok(Some(if as_time {
        best.timestamp_ms as f64 / 1000.0
    } else {
        best.value
    }))
}

/// Largest value.
pub fn max(w: &Window) -> Answer {
    pick(w, |a, b| a > b, false)
}

/// Smallest value.
pub fn min(w: &Window) -> Answer {
    pick(w, |a, b| a < b, false)
}

/// Time of the (last) largest value.
pub fn ts_of_max(w: &Window) -> Answer {
    pick(w, |a, b| a >= b, true)
}

/// Time of the (last) smallest value.
pub fn ts_of_min(w: &Window) -> Answer {
    pick(w, |a, b| a <= b, true)
}

fn variance(w: &Window) -> Option<f64> {
    if w.samples.is_empty() {
        return None;
    }
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for f in values(w) {
        count += 1.0;
        let delta = f - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (f - (mean + c_mean)), aux, c_aux);
    }
    Some((aux + c_aux) / count)
}

/// Population standard deviation.
pub fn stddev(w: &Window) -> Answer {
    Ok(variance(w).map(f64::sqrt))
}

/// Population variance.
pub fn stdvar(w: &Window) -> Answer {
    Ok(variance(w))
}

/// The `q`-quantile (first argument) of the window.
pub fn quantile(w: &Window) -> Answer {
    if w.samples.is_empty() {
        return Ok(None);
    }
    let q = w.args.first().copied().unwrap_or(f64::NAN);
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        w.warn(|| {
            format!(
                "PromQL warning: quantile value should be between 0 and 1, got {}",
                crate::engine::value::format_float(q)
            )
        });
    }
    let mut v: Vec<f64> = values(w).collect();
    Ok(Some(quantile_of(q, &mut v)))
}

/// Median absolute deviation from the median.
pub fn mad(w: &Window) -> Answer {
    if w.samples.is_empty() {
        return Ok(None);
    }
    let mut v: Vec<f64> = values(w).collect();
    if v.iter().any(|x| x.is_nan()) {
        return Ok(Some(f64::NAN));
    }
    let median = quantile_of(0.5, &mut v);
    v.iter_mut().for_each(|x| *x = (*x - median).abs());
    Ok(Some(quantile_of(0.5, &mut v)))
}

/// 1 for any sample.
pub fn present(w: &Window) -> Answer {
    Ok((!w.samples.is_empty()).then_some(1.0))
}

/// The newest value.
pub fn last(w: &Window) -> Answer {
    Ok(w.samples.last().map(|s| s.value))
}

/// The oldest value.
pub fn first(w: &Window) -> Answer {
    Ok(w.samples.first().map(|s| s.value))
}

/// Time of the newest sample (s).
pub fn ts_of_last(w: &Window) -> Answer {
    Ok(w.samples.last().map(|s| s.timestamp_ms as f64 / 1000.0))
}

/// Time of the oldest sample (s).
pub fn ts_of_first(w: &Window) -> Answer {
    Ok(w.samples.first().map(|s| s.timestamp_ms as f64 / 1000.0))
}

/// How often the value changed (NaN to NaN is no change).
pub fn changes(w: &Window) -> Answer {
    if w.samples.is_empty() {
        return Ok(None);
    }
    let n = w
        .samples
        .windows(2)
        .filter(|p| p[1].value != p[0].value && !(p[1].value.is_nan() && p[0].value.is_nan()))
        .count();
    Ok(Some(n as f64))
}

/// How often a counter went down.
pub fn resets(w: &Window) -> Answer {
    if w.samples.is_empty() {
        return Ok(None);
    }
    let n = w
        .samples
        .windows(2)
        .filter(|p| p[1].value < p[0].value)
        .count();
    Ok(Some(n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::Sample;

    fn w(samples: &[Sample]) -> Window<'_> {
        Window {
            samples,
            range_start: 0,
            range_end: 100_000,
            ts: 100_000,
            args: &[],
            budget: None,
        }
    }

    #[test]
    fn nan_never_wins_max_and_changes_count_transitions() {
        let s = [
            Sample::new(1, f64::NAN),
            Sample::new(2, 3.0),
            Sample::new(3, 1.0),
        ];
        assert_eq!(max(&w(&s)).unwrap(), Some(3.0));
        assert_eq!(min(&w(&s)).unwrap(), Some(1.0));
        assert_eq!(changes(&w(&s)).unwrap(), Some(2.0));
        assert_eq!(resets(&w(&s)).unwrap(), Some(1.0));
        assert_eq!(avg(&w(&s[1..])).unwrap(), Some(2.0));
    }
}
