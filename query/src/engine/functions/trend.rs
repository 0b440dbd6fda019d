//! Trends of a window: `deriv`, `predict_linear` and double exponential smoothing
//! (`double_exponential_smoothing`, formerly `holt_winters`).

use super::stats::linear_regression;
use super::{QueryError, Window};

/// Per-second slope of the least-squares line through the window.
pub fn deriv(w: &Window) -> Result<Option<f64>, QueryError> {
    if w.samples.len() < 2 {
        return Ok(None);
    }
    let (slope, _) = linear_regression(w.samples, w.samples[0].timestamp_ms);
    Ok(Some(slope))
}

/// The value the least-squares line predicts the given seconds after the evaluation time.
pub fn predict_linear(w: &Window) -> Result<Option<f64>, QueryError> {
    if w.samples.len() < 2 {
        return Ok(None);
    }
    let Some(&seconds) = w.args.first() else {
        return Ok(None);
    };
    let (slope, intercept) = linear_regression(w.samples, w.ts);
    Ok(Some(slope * seconds + intercept))
}

/// The smoothed value after double exponential smoothing with smoothing factor `sf` and
/// trend factor `tf`, both strictly between 0 and 1.
pub fn double_exponential_smoothing(w: &Window) -> Result<Option<f64>, QueryError> {
    let (Some(&sf), Some(&tf)) = (w.args.first(), w.args.get(1)) else {
        return Ok(None);
    };
    if sf <= 0.0 || sf >= 1.0 || sf.is_nan() {
        return Err(QueryError::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 || tf.is_nan() {
        return Err(QueryError::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    let s = w.samples;
    if s.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0, s[0].value);
    let mut b = s[1].value - s[0].value;
    for (i, sample) in s.iter().enumerate().skip(1) {
        let x = sf * sample.value;
        // The trend at the previous point (the initial trend for the first step).
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::Sample;

    #[test]
    fn smoothing_a_straight_line_follows_it() {
        let s: Vec<Sample> = (0..10).map(|i| Sample::new(i * 1000, i as f64)).collect();
        let w = Window {
            samples: &s,
            range_start: -1,
            range_end: 9_000,
            ts: 9_000,
            args: &[0.5, 0.5],
            budget: None,
        };
        let v = double_exponential_smoothing(&w).unwrap().unwrap();
        assert!((v - 9.0).abs() < 1e-9, "{v}");
        let bad = Window {
            args: &[1.0, 0.5],
            ..w
        };
        assert!(double_exponential_smoothing(&bad).is_err());
        assert_eq!(deriv(&Window { args: &[], ..bad }).unwrap(), Some(1.0));
    }
}
