//! How far one series moved around an alert: its points after the split against its own
//! points before it (median and median absolute deviation), in robust standard deviations.

use serde::Serialize;

/// Evidence from which a suspect counts as anomalous (and its onset as one).
pub const NOTABLE: f64 = 0.5;
/// Robust deviations at which a point counts as left its baseline (the onset).
const ONSET_DEVIATIONS: f64 = 4.0;
/// Robust deviations that make evidence ½.
const HALF_AT: f64 = 5.0;
/// A move counts as far as it held for this many points (a single odd point is noise).
const SUSTAINED: usize = 3;

/// Which way a move counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
    Either,
}

/// What one signal of one suspect showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The signal, in words (`error ratio`).
    pub signal: String,
    /// 0..1.
    pub anomaly: f64,
    /// The first point past the split that left the baseline (ms).
    pub onset_ms: Option<i64>,
    pub baseline: f64,
    /// The point furthest from the baseline after the split.
    pub extreme: f64,
}

impl Finding {
    /// `error ratio 0.52 (baseline 0.00)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} (baseline {})",
            self.signal,
            short(self.extreme),
            short(self.baseline)
        )
    }
}

fn short(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Judges `points` (time order) after `split_ms` against those before. `floor` is the
/// smallest move that can matter at all (a ratio of 0.02, a latency of 50 ms), so a series
/// flat before the split does not make a tiny wobble infinitely surprising. Points not
/// finite are skipped; with fewer than three before the split the baseline is `missing`
/// (0 for traffic: none seen is none).
pub fn judge(
    signal: &str,
    points: &[(i64, f64)],
    split_ms: i64,
    direction: Direction,
    floor: f64,
    missing: Option<f64>,
) -> Option<Finding> {
    let mut before: Vec<f64> = points
        .iter()
        .filter(|(t, v)| *t < split_ms && v.is_finite())
        .map(|(_, v)| *v)
        .collect();
    let baseline = if before.len() >= 3 {
        median(&mut before)
    } else {
        missing?
    };
    let mut spread: Vec<f64> = before.iter().map(|v| (v - baseline).abs()).collect();
    let mad = if spread.len() >= 3 {
        median(&mut spread)
    } else {
        0.0
    };
    let scale = (1.4826 * mad).max(floor).max(1e-12);
    let moves: Vec<(i64, f64, f64)> = points
        .iter()
        .filter(|(t, v)| *t >= split_ms && v.is_finite())
        .map(|&(t, v)| {
            let moved = match direction {
                Direction::Up => v - baseline,
                Direction::Down => baseline - v,
                Direction::Either => (v - baseline).abs(),
            } / scale;
            (t, v, moved)
        })
        .collect();
    // The move that held: the SUSTAINED-th largest; the onset: the first point of the first
    // run of SUSTAINED points past the onset level.
    let mut ranked: Vec<&(i64, f64, f64)> = moves.iter().collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2));
    // A move still rising at the window's end (the alert just fired) cannot have held yet
    // for SUSTAINED points: one point fewer counts.
    let rising_at_end = matches!((ranked.first(), moves.last()), (Some(a), Some(b)) if a.0 == b.0);
    let needed = if rising_at_end {
        SUSTAINED - 1
    } else {
        SUSTAINED
    };
    let held = ranked
        .get(needed - 1)
        .or(ranked.last())
        .map_or(0.0, |m| m.2.max(0.0));
    let extreme = ranked.first().map_or(baseline, |m| m.1);
    let onset = moves
        .windows(SUSTAINED)
        .find(|w| w.iter().all(|m| m.2 >= ONSET_DEVIATIONS))
        .map(|w| w[0].0);
    Some(Finding {
        signal: signal.to_string(),
        anomaly: held / (held + HALF_AT),
        onset_ms: onset,
        baseline,
        extreme,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(before: &[f64], after: &[f64]) -> Vec<(i64, f64)> {
        before
            .iter()
            .chain(after)
            .enumerate()
            .map(|(i, &v)| (i as i64 * 1000, v))
            .collect()
    }

    #[test]
    fn a_jump_after_the_split_is_found_with_its_onset() {
        let points = series(&[0.01, 0.0, 0.02, 0.01, 0.0], &[0.01, 0.5, 0.6, 0.55]);
        let f = judge("error ratio", &points, 5000, Direction::Up, 0.02, None).unwrap();
        assert!(f.anomaly > 0.8, "{f:?}");
        assert_eq!(f.onset_ms, Some(6000));
        assert_eq!(f.describe(), "error ratio 0.600 (baseline 0.010)");
    }

    #[test]
    fn noise_and_the_wrong_direction_are_not_anomalies() {
        let points = series(
            &[1.0, 1.1, 0.9, 1.05, 0.95],
            &[1.1, 0.9, 0.2, 0.2, 0.25, 3.0],
        );
        let up = judge("p99", &points, 5000, Direction::Up, 0.05, None).unwrap();
        assert!(up.anomaly < NOTABLE, "{up:?}");
        let down = judge("p99", &points, 5000, Direction::Down, 0.05, None).unwrap();
        assert!(down.anomaly > NOTABLE, "{down:?}");
    }

    #[test]
    fn a_single_odd_point_is_not_a_move() {
        let points = series(
            &[0.01, 0.01, 0.012, 0.011, 0.01],
            &[0.01, 0.26, 0.011, 0.01],
        );
        let f = judge("p99", &points, 5000, Direction::Up, 0.05, None).unwrap();
        assert!(f.anomaly < 0.1, "{f:?}");
        assert_eq!(f.onset_ms, None);
    }

    #[test]
    fn traffic_never_seen_before_counts_from_zero() {
        let points = series(&[], &[3.0, 3.0, 3.0]);
        assert!(judge("requests/s", &points, 0, Direction::Up, 0.05, None).is_none());
        let f = judge("requests/s", &points, 0, Direction::Either, 0.05, Some(0.0)).unwrap();
        assert!(f.anomaly > 0.9);
    }

    #[test]
    fn a_move_still_rising_at_the_end_counts_with_two_points_and_not_one() {
        let before = [0.0, 0.0, 0.0, 0.0, 0.0];
        let rising = series(&before, &[0.0, 0.0, 0.15, 0.3]);
        let f = judge("failed", &rising, 5000, Direction::Up, 0.01, None).unwrap();
        assert!(f.anomaly > NOTABLE, "{f:?}");
        let one = series(&before, &[0.0, 0.0, 0.0, 0.3]);
        let f = judge("failed", &one, 5000, Direction::Up, 0.01, None).unwrap();
        assert!(f.anomaly < 0.1, "{f:?}");
    }
}
