//! The drift member: a sustained move away from the running median. Its deviation is the
//! exponentially weighted mean of the signed distances from the median over the last few
//! dozen points, so a move too small for any one point to stand out (a level creeping up,
//! a rate settling lower for an hour) adds up until it does, while a lone spike is diluted.

use serde::{Deserialize, Serialize};

use super::level::{LevelBaseline, LevelConfig};
use super::member::{calibrated_detector, Calibrated, Measurement, Member};
use super::Point;

/// Configuration of the drift member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {
    /// Weight of the newest distance in the mean (default 0.03: about the last 30 points).
    pub rate: f64,
    /// The running median the distances are measured from.
    pub level: LevelConfig,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            rate: 0.03,
            level: LevelConfig::default(),
        }
    }
}

/// The drift member's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftBaseline {
    rate: f64,
    level: LevelBaseline,
    /// The weighted mean of recent distances from the median.
    drift: f64,
}

impl DriftBaseline {
    pub fn new(config: DriftConfig) -> Self {
        DriftBaseline {
            rate: config.rate.clamp(1e-4, 1.0),
            level: LevelBaseline::new(config.level),
            drift: 0.0,
        }
    }
}

impl Member for DriftBaseline {
    const SIDED: bool = true;

    fn measure(&mut self, point: Point) -> Measurement {
        let from_median = self.level.measure(point);
        let Some(distance) = from_median.deviation else {
            return from_median;
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
calibrated_detector!(DriftBaseline, Drift);

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
