//! From a member's raw deviation to a surprise that means the same on every series.
//!
//! Peaks over threshold: the largest deviations of the recent past (a bounded list, each
//! leaving after `horizon` points) estimate the tail of the deviation's distribution, with an
//! exponential fitted to their excesses beyond the smallest of them. A deviation's surprise is
//! how many times (in decimal orders) rarer it is than the start of that tail: 0 for anything
//! ordinary, about 1 for the series' usual largest, and growing without bound for a deviation
//! far beyond anything seen. Being relative to each series' own extremes, it needs no scale.

use serde::{Deserialize, Serialize};

/// Deviations before the tail is trusted: until then nothing surprises.
const WARM_UP: u64 = 30;
/// The longest horizon: a peak's age is told from point indices kept modulo 2³².
const MAX_HORIZON: u64 = 1 << 31;

/// How the tail of deviations is estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailConfig {
    /// Points a deviation stays among the peaks (default 4000).
    pub horizon: u64,
    /// Largest deviations kept (default 32).
    pub peaks: usize,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            horizon: 4000,
            peaks: 32,
        }
    }
}

/// The tail of one stream of deviations; see the module comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tail {
    horizon: u64,
    capacity: usize,
    seen: u64,
    /// (deviation, index of its point modulo 2³²), largest first. Single precision halves
    /// the tails' share of a series' memory; seven significant digits are plenty to fit a
    /// tail, and every comparison is made at that precision.
    peaks: Vec<(f32, u32)>,
}

impl Tail {
    pub fn new(config: &TailConfig) -> Self {
        let capacity = config.peaks.clamp(4, 1024);
        Tail {
            horizon: config.horizon.clamp(capacity as u64, MAX_HORIZON),
            capacity,
            seen: 0,
            peaks: Vec::with_capacity(capacity),
        }
    }

    /// The surprise of `deviation` (≥ 0), learning from it afterwards.
    pub fn update(&mut self, deviation: f64) -> f64 {
        let d = if deviation.is_finite() {
            deviation.max(0.0)
        } else {
            0.0
        };
        let surprise = self.surprise(d);
        self.learn(d);
        surprise
    }

    /// Whether any deviation above zero is among the peaks.
    fn has_history(&self) -> bool {
        self.peaks.first().is_some_and(|p| p.0 > 0.0)
    }

    fn surprise(&self, d: f64) -> f64 {
        if self.seen < WARM_UP || self.peaks.len() < self.capacity {
            return 0.0;
        }
        let d = f64::from(single(d));
        let k = self.peaks.len();
        let floor = f64::from(self.peaks[k - 1].0);
        if d <= floor {
            return 0.0;
        }
        let n = self.seen.min(self.horizon) as f64;
        let start = k as f64 / n;
        let mean_excess = self
            .peaks
            .iter()
            .map(|p| f64::from(p.0) - floor)
            .sum::<f64>()
            / (k - 1) as f64;
        let scale = mean_excess.max(1e-12 * (1.0 + floor.abs()));
        // Beyond every peak, the fitted exponential says how rare it is. Among the peaks, the
        // fit may not call rarer what was observed: a deviation the size of ones seen before
        // (a daily spike whose time jitters) is as common as their count says.
        let fitted = start * (-(d - floor) / scale).exp();
        let above = self.peaks.iter().filter(|p| f64::from(p.0) >= d).count();
        let p = if above > 0 {
            fitted.max((above as f64 + 0.5) / n)
        } else {
            fitted
        };
        (start / p.max(f64::MIN_POSITIVE)).log10().max(0.0)
    }

    fn learn(&mut self, d: f64) {
        let d = single(d);
        // Indices modulo 2³²: an age is their wrapping difference, exact below MAX_HORIZON.
        let now = self.seen as u32;
        self.seen += 1;
        let horizon = self.horizon;
        self.peaks
            .retain(|p| u64::from(now.wrapping_sub(p.1)) < horizon);
        if self.peaks.len() == self.capacity {
            if d <= self.peaks[self.capacity - 1].0 {
                return;
            }
            self.peaks.pop();
        }
        let at = self.peaks.partition_point(|p| p.0 >= d);
        self.peaks.insert(at, (d, now));
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.capacity * std::mem::size_of::<(f32, u32)>()
    }
}

/// A deviation (≥ 0) at the precision the peaks keep, the largest finite `f32` for one
/// beyond its range.
fn single(d: f64) -> f32 {
    (d as f32).min(f32::MAX)
}

/// A member's tails: one when its deviations have no direction, one per side when they do,
/// so a dip is judged against the series' dips and a spike against its spikes (a series
/// that often spikes seldom drops, and the other way round).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tails {
    above: Tail,
    /// Deviations below what was expected, for members whose deviations are signed.
    below: Option<Tail>,
}

impl Tails {
    pub fn new(config: &TailConfig, sided: bool) -> Self {
        Tails {
            above: Tail::new(config),
            below: sided.then(|| Tail::new(config)),
        }
    }

    /// The surprise of `deviation` (negative: below what was expected), learning from it
    /// afterwards. Each side's tail counts every point, so its rates are per point of the
    /// series, not per point on its side. A side that has never deviated has nothing to
    /// judge by, and its first deviation is judged by the other side's (a series rising
    /// since it started does not alarm the first time it turns down).
    pub fn update(&mut self, deviation: f64) -> f64 {
        let Some(below) = &mut self.below else {
            return self.above.update(deviation.abs());
        };
        let (up, down) = (deviation.max(0.0), (-deviation).max(0.0));
        let (own, other, size) = if down > 0.0 {
            (&*below, &self.above, down)
        } else {
            (&self.above, &*below, up)
        };
        let judge = if own.has_history() || !other.has_history() {
            own
        } else {
            other
        };
        let surprise = judge.surprise(size);
        self.above.learn(up);
        below.learn(down);
        surprise
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() - std::mem::size_of::<Tail>()
            + self.above.memory_bytes()
            + self.below.as_ref().map_or(0, Tail::memory_bytes)
    }
}

/// A surprise to a score in [0, 1): ½ for a deviation a hundred times rarer than the series'
/// usual largest, 0.9 for one 10¹⁸ times rarer.
pub fn to_score(surprise: f64) -> f64 {
    let s = surprise.max(0.0);
    if s.is_finite() {
        s / (s + 2.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    #[test]
    fn ordinary_deviations_do_not_surprise_and_a_far_one_does() {
        let mut tail = Tail::new(&TailConfig::default());
        let surprises: Vec<f64> = noise(5000, 7).into_iter().map(|d| tail.update(d)).collect();
        let late = &surprises[1000..];
        let loud = late.iter().filter(|&&s| s > 1.0).count();
        assert!(
            loud < 10,
            "{loud} of {} uniform deviations surprised",
            late.len()
        );
        assert!(
            tail.update(5.0) > 10.0,
            "five times the range is far beyond the tail"
        );
    }

    #[test]
    fn a_deviation_leaves_the_peaks_after_the_horizon() {
        let config = TailConfig {
            horizon: 200,
            peaks: 8,
        };
        let mut tail = Tail::new(&config);
        for d in noise(100, 3) {
            tail.update(d);
        }
        tail.update(100.0);
        for d in noise(300, 4) {
            tail.update(d);
        }
        assert!(tail.peaks.iter().all(|p| p.0 < 1.0), "{:?}", tail.peaks);
        assert!(
            tail.update(100.0) > 10.0,
            "once forgotten, it surprises again"
        );
    }

    #[test]
    fn a_sided_member_is_judged_against_its_own_side() {
        // Spikes up to 10 are ordinary here, drops never go beyond 1.
        let mut one = Tails::new(&TailConfig::default(), false);
        let mut two = Tails::new(&TailConfig::default(), true);
        for (i, d) in noise(3000, 5).into_iter().enumerate() {
            let signed = if i % 2 == 0 { 10.0 * d } else { -d };
            one.update(signed);
            two.update(signed);
        }
        let drop = -5.0;
        assert_eq!(
            one.update(drop),
            0.0,
            "unsigned, a drop of 5 is an ordinary size"
        );
        assert!(
            two.update(drop) > 3.0,
            "signed, no drop was ever half as deep"
        );
        assert!(two.update(9.0) < 1.0, "and a spike of 9 is still ordinary");
    }

    #[test]
    fn a_spike_the_size_of_ones_seen_before_is_as_common_as_they_were() {
        let mut tail = Tail::new(&TailConfig::default());
        for (i, d) in noise(3000, 11).into_iter().enumerate() {
            tail.update(if i % 300 == 150 { 5.0 } else { d });
        }
        let again = tail.update(5.0);
        assert!(again < 1.0, "the eleventh spike of 5 surprised {again}");
        let beyond = tail.update(20.0);
        assert!(
            beyond > 3.0,
            "four times any spike seen surprised only {beyond}"
        );
    }

    #[test]
    fn a_first_turn_is_judged_by_the_other_side() {
        let mut tails = Tails::new(&TailConfig::default(), true);
        for d in noise(200, 9) {
            tails.update(d);
        }
        assert!(
            tails.update(-0.5) < 0.5,
            "the first dip is of an ordinary size"
        );
        let mut flat = Tails::new(&TailConfig::default(), true);
        for _ in 0..200 {
            flat.update(0.0);
        }
        assert!(
            flat.update(-0.5) > 10.0,
            "a still series' first move is news either way"
        );
    }

    #[test]
    fn scores_stay_in_the_unit_interval() {
        for s in [0.0, 0.5, 2.0, 100.0, 1e300, f64::INFINITY, -3.0] {
            let score = to_score(s);
            assert!((0.0..=1.0).contains(&score), "{s} -> {score}");
        }
        assert_eq!(to_score(2.0), 0.5);
    }
}
