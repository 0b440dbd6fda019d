//! `rate`, `increase` and `delta` with Prometheus's extrapolation to the window edges, and
//! `irate`/`idelta` from the last two samples.

use super::{QueryError, Window};

/// Per-second average increase of a counter over the window.
pub fn rate(w: &Window) -> Result<Option<f64>, QueryError> {
    Ok(extrapolated(w, true, true))
}

/// Increase of a counter over the window.
pub fn increase(w: &Window) -> Result<Option<f64>, QueryError> {
    Ok(extrapolated(w, true, false))
}

/// Difference of a gauge over the window.
pub fn delta(w: &Window) -> Result<Option<f64>, QueryError> {
    Ok(extrapolated(w, false, false))
}

/// Per-second rate from the last two samples.
pub fn irate(w: &Window) -> Result<Option<f64>, QueryError> {
    Ok(instant(w, true))
}

/// Difference of the last two samples.
pub fn idelta(w: &Window) -> Result<Option<f64>, QueryError> {
    Ok(instant(w, false))
}

/// The change across the window, corrected for counter resets, extrapolated towards the
/// window's edges: all the way when the first/last sample is within 1.1 average sample
/// intervals of the edge, else half an interval; and never below zero for counters.
fn extrapolated(w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut result = last.value - first.value;
    if is_counter {
        for pair in s.windows(2) {
            if pair[1].value < pair[0].value {
                result += pair[0].value;
            }
        }
    }
    let mut to_start = (first.timestamp_ms - w.range_start) as f64 / 1000.0;
    let mut to_end = (w.range_end - last.timestamp_ms) as f64 / 1000.0;
    let sampled = (last.timestamp_ms - first.timestamp_ms) as f64 / 1000.0;
    let average = sampled / (s.len() - 1) as f64;
    let threshold = average * 1.1;
    if to_start >= threshold {
        to_start = average / 2.0;
    }
    if is_counter && result > 0.0 && first.value >= 0.0 {
        // The counter started at zero no earlier than this.
        let to_zero = sampled * (first.value / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if is_rate {
        factor /= w.range_seconds();
    }
    Some(result * factor)
}

fn instant(w: &Window, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let (prev, last) = (s[s.len() - 2], s[s.len() - 1]);
    let interval = last.timestamp_ms - prev.timestamp_ms;
    if interval == 0 {
        return None;
    }
    let mut v = if is_rate && last.value < prev.value {
        // A counter reset: the counter restarted from zero.
        last.value
    } else {
        last.value - prev.value
    };
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::Sample;

    fn window(samples: &[Sample], start: i64, end: i64) -> Window<'_> {
        Window {
            samples,
            range_start: start,
            range_end: end,
            ts: end,
            args: &[],
            budget: None,
        }
    }

    #[test]
    fn rate_extrapolates_to_the_edges() {
        // 0, 10, 20 ... every 10s; window (0, 60s] sees 10..60 → 50 over 50s, extrapolated
        // 10s to the start (within 1.1 intervals) = 60 over 60s.
        let s: Vec<Sample> = (1..=6)
            .map(|i| Sample::new(i * 10_000, i as f64 * 10.0))
            .collect();
        let r = rate(&window(&s, 0, 60_000)).unwrap().unwrap();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
    }

    #[test]
    fn counter_resets_add_the_value_before_the_reset() {
        let s = [Sample::new(10_000, 5.0), Sample::new(20_000, 1.0)];
        let inc = increase(&window(&s, 10_000 - 1, 20_000)).unwrap().unwrap();
        // 5 then 1: the counter restarted, so it rose by 1.
        assert!(inc > 0.99 && inc < 1.01, "{inc}");
        assert_eq!(irate(&window(&s, 0, 20_000)).unwrap(), Some(0.1));
    }
}
