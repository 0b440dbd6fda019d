//! The drift member: a sustained move away from the running median. Its deviation is the
//! exponentially weighted mean of the signed distances from the median over the last few
//! dozen points, so a move too small for any one point to stand out (a level creeping up,
//! a rate settling lower for an hour) adds up until it does, while a lone spike is diluted:
//! each distance is first clipped to a few spreads, so even a spike a hundred spreads high
//! moves the mean no more than a sustained move would (spikes are the level member's).

use serde::{Deserialize, Serialize};

use super::level::{LevelBaseline, LevelConfig};
use super::member::{Calibrated, Measurement, Member};
use super::Point;

/// Configuration of the drift member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {
    /// Weight of the newest distance in the mean (default 0.03: about the last 30 points).
    pub rate: f64,
    /// The largest distance a point adds to the mean, in spreads (default 10, chosen on the
    /// odd NAB files; 0 leaves distances unclipped).
    pub clip: f64,
    /// The running median the distances are measured from.
    pub level: LevelConfig,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            rate: 0.03,
            clip: default_clip(),
            level: LevelConfig::default(),
        }
    }
}

fn default_clip() -> f64 {
    10.0
}

/// The drift member's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftBaseline {
    rate: f64,
    /// Absent from states saved before it existed, which resume clipping at the default.
    #[serde(default = "default_clip")]
    clip: f64,
    level: LevelBaseline,
    /// The weighted mean of recent distances from the median.
    drift: f64,
}

impl DriftBaseline {
    pub fn new(config: DriftConfig) -> Self {
        DriftBaseline {
            rate: config.rate.clamp(1e-4, 1.0),
            clip: config.clip.max(0.0),
            level: LevelBaseline::new(config.level),
            drift: 0.0,
        }
    }
}

impl Member for DriftBaseline {
    type Config = DriftConfig;

    fn fresh(config: DriftConfig, _seed: u64) -> Self {
        DriftBaseline::new(config)
    }

    const SIDED: bool = true;

    fn measure(&mut self, point: Point) -> Measurement {
        let most = self.clip * self.level.spread();
        let from_median = self.level.measure(point);
        let Some(distance) = from_median.deviation else {
            return from_median;
        };
        // No spread yet (a flat start) gives no scale to clip by.
        let distance = if most > 0.0 {
            distance.clamp(-most, most)
        } else {
            distance
        };
        // The mean starts at zero, not at the first distance: a series that starts away from
        // where its median settles has not drifted.
        self.drift += self.rate * (distance - self.drift);
        Measurement {
            deviation: Some(self.drift),
            ..from_median
        }
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

/// The drift member as a detector on its own.
pub type DriftDetector = Calibrated<DriftBaseline>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{Detector, LevelDetector, TailConfig};

    /// Uniform noise in [-1, 1] with a spike of ±4 every 50 points, raised by `shift` from
    /// point `from` on.
    fn shifted(n: usize, from: usize, shift: f64) -> Vec<Point> {
        let mut state = 23u64;
        (0..n)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let noise = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                let spike = match i % 100 {
                    0 => 4.0,
                    50 => -4.0,
                    _ => 0.0,
                };
                let value = 10.0 + noise + spike + if i >= from { shift } else { 0.0 };
                Point {
                    time: 60 * i as i64,
                    value,
                }
            })
            .collect()
    }

    fn loudest(detector: &mut dyn Detector, points: &[Point], from: usize) -> f64 {
        let scores: Vec<f64> = points.iter().map(|&p| detector.observe(p).score).collect();
        scores[from..].iter().copied().fold(0.0, f64::max)
    }

    fn drift() -> DriftDetector {
        DriftDetector::new(
            DriftBaseline::new(DriftConfig::default()),
            &TailConfig::default(),
        )
    }

    fn level() -> LevelDetector {
        LevelDetector::new(
            LevelBaseline::new(LevelConfig::default()),
            &TailConfig::default(),
        )
    }

    #[test]
    fn a_shift_within_the_noise_drifts_where_no_point_stands_out() {
        let points = shifted(3000, 2510, 1.0);
        let drift = loudest(&mut drift(), &points, 2510);
        let level = loudest(&mut level(), &points, 2510);
        assert!(
            drift > 0.55 && level < 0.35,
            "the shift scored {drift} as a drift, {level} point by point"
        );
    }

    #[test]
    fn a_lone_spike_moves_the_mean_no_more_than_the_clip() {
        let mut member = DriftBaseline::new(DriftConfig::default());
        for p in shifted(1000, 1000, 0.0) {
            member.measure(p);
        }
        let spread = member.level.spread();
        let before = member.drift;
        member.measure(Point {
            time: 60_000,
            value: 1e6,
        });
        let moved = member.drift - before;
        assert!(
            moved > 0.0 && moved <= 0.03 * 10.0 * spread + 1e-9,
            "a spike of 10⁶ moved the mean by {moved} (spread {spread})"
        );
    }

    #[test]
    fn a_state_saved_before_the_clip_resumes_with_it() {
        let mut saved =
            serde_json::to_value(DriftBaseline::new(DriftConfig::default())).expect("serialises");
        saved.as_object_mut().expect("an object").remove("clip");
        let resumed: DriftBaseline = serde_json::from_value(saved).expect("resumes");
        assert_eq!(resumed, DriftBaseline::new(DriftConfig::default()));
    }

    #[test]
    fn noise_drifts_no_louder_than_its_points_stand_out() {
        let points = shifted(12_000, 12_000, 0.0);
        let drift = loudest(&mut drift(), &points, 1000);
        let level = loudest(&mut level(), &points, 1000);
        assert!(
            drift <= level,
            "noise scored {drift} as a drift, {level} point by point"
        );
    }
}
