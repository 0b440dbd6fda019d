//! The level member: distance from the series' running median. Catches what is simply
//! higher or lower than the series has been (spikes, dips, level shifts) whatever its shape.
//! The deviation is signed, so spikes and dips are each judged against their own kind.

use serde::{Deserialize, Serialize};

use super::member::{Calibrated, Measurement, Member};
use super::Point;

/// Configuration of the level member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LevelConfig {
    /// Step of the running median, in spreads per point (default 0.02).
    pub median_step: f64,
    /// Smoothing of the spread, the mean distance from the median (default 0.01).
    pub spread_rate: f64,
    /// Half-width of the band, in spreads (default 3).
    pub band: f64,
}

impl Default for LevelConfig {
    fn default() -> Self {
        LevelConfig {
            median_step: 0.02,
            spread_rate: 0.01,
            band: 3.0,
        }
    }
}

/// The level member's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelBaseline {
    config: LevelConfig,
    seen: u64,
    median: f64,
    spread: f64,
}

impl LevelBaseline {
    pub fn new(config: LevelConfig) -> Self {
        LevelBaseline {
            config,
            seen: 0,
            median: 0.0,
            spread: 0.0,
        }
    }

    /// The mean distance of points from the running median.
    pub(crate) fn spread(&self) -> f64 {
        self.spread
    }
}

impl Member for LevelBaseline {
    type Config = LevelConfig;

    fn fresh(config: LevelConfig, _seed: u64) -> Self {
        LevelBaseline::new(config)
    }

    const SIDED: bool = true;

    fn measure(&mut self, point: Point) -> Measurement {
        let v = point.value;
        self.seen += 1;
        if self.seen == 1 {
            self.median = v;
            return Measurement::nothing_yet(v);
        }
        let distance = (v - self.median).abs();
        let half = self.config.band * self.spread;
        let measured = Measurement {
            deviation: Some(v - self.median),
            expected: self.median,
            lower: self.median - half,
            upper: self.median + half,
        };
        // A plain mean at first, so the spread is not biased towards its zero start.
        let rate = self.config.spread_rate.max(1.0 / self.seen as f64);
        self.spread += rate * (distance - self.spread);
        self.median += self.config.median_step * self.spread * (v - self.median).signum();
        measured
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

/// The level member as a detector on its own.
pub type LevelDetector = Calibrated<LevelBaseline>;
