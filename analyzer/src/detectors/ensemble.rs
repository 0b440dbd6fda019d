//! The ensemble: the level, drift, seasonal and mixture members side by side, each deviation
//! made a surprise by the member's own tails (one per side for the signed members), the
//! seasonal one weighed by how strong the series' daily season is, the loudest (weighted)
//! taken, and a detection held back for a moment once made, so an anomaly is reported at its
//! onset rather than as a stream.

use serde::{Deserialize, Serialize};

use super::calibration::{to_score, TailConfig};
use super::drift::{DriftBaseline, DriftConfig};
use super::level::{LevelBaseline, LevelConfig};
use super::member::{Calibrated, Member};
use super::mixture::{MixtureConfig, MixtureModel};
use super::registry::read_fields;
use super::seasonal::{SeasonalBaseline, SeasonalConfig};
use super::{Detector, DetectorState, Point, Registered, Verdict};

/// Configuration of the ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleConfig {
    pub level: LevelConfig,
    /// Weight of the level member's surprise (default 1).
    pub level_weight: f64,
    /// The sustained move from the median; `null` leaves it out.
    pub drift: Option<DriftConfig>,
    /// Weight of the drift member's surprise (default 0.75).
    pub drift_weight: f64,
    pub seasonal: SeasonalConfig,
    /// Weight of the seasonal member's surprise (default 1).
    pub seasonal_weight: f64,
    /// The power of the daily season's strength the seasonal member's surprise is weighed by
    /// (default 3; 0 weighs it fully on every series): on a series with no daily shape the
    /// seasonal residuals are noise about a moving level, which the level member judges
    /// better, and there they raised most of the false alarms.
    pub seasonal_gate: f64,
    /// The learned model; `null` leaves it out (the ablation).
    pub mixture: Option<MixtureConfig>,
    /// Weight of the mixture member's surprise (default 0.5, as chosen on the odd NAB files;
    /// see `nab --holdout`).
    pub mixture_weight: f64,
    /// How each member's deviations become surprises.
    pub tail: TailConfig,
    /// The surprise, in decades of rarity, that counts as an alarm and starts a refractory
    /// period (default 1.5: thirty times rarer than the series' usual largest, a score of
    /// 0.43).
    pub alarm: f64,
    /// Points after an alarm during which only a louder one is reported (default 100, as
    /// chosen on the odd NAB files).
    pub refractory: u32,
    /// How much louder, in decades, a surprise within the refractory period must be than
    /// the alarm (default 1.5). A surprise that creeps up while an anomaly goes on is that
    /// anomaly still, not another to report; a drift's surprise always creeps up.
    pub louder_by: f64,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            level: LevelConfig::default(),
            level_weight: 1.0,
            drift: Some(DriftConfig::default()),
            drift_weight: 0.75,
            seasonal: SeasonalConfig::default(),
            seasonal_weight: 1.0,
            seasonal_gate: 3.0,
            mixture: Some(MixtureConfig::default()),
            mixture_weight: 0.5,
            tail: TailConfig::default(),
            alarm: 1.5,
            refractory: 100,
            louder_by: 1.5,
        }
    }
}

/// The ensemble's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleDetector {
    config: EnsembleConfig,
    level: Calibrated<LevelBaseline>,
    drift: Option<Calibrated<DriftBaseline>>,
    seasonal: Calibrated<SeasonalBaseline>,
    mixture: Option<Calibrated<MixtureModel>>,
    /// The last alarm's surprise, and points since.
    reported: f64,
    since_reported: u32,
}

impl EnsembleDetector {
    pub fn new(config: EnsembleConfig, seed: u64) -> Self {
        let tail = &config.tail;
        EnsembleDetector {
            level: Calibrated::new(LevelBaseline::new(config.level.clone()), tail),
            drift: config
                .drift
                .clone()
                .map(|d| Calibrated::new(DriftBaseline::new(d), tail)),
            seasonal: Calibrated::new(SeasonalBaseline::new(config.seasonal.clone()), tail),
            mixture: config
                .mixture
                .clone()
                .map(|m| Calibrated::new(MixtureModel::new(m, seed), tail)),
            reported: 0.0,
            // No alarm yet, so nothing is held back.
            since_reported: u32::MAX,
            config,
        }
    }

    /// The surprise to report: any outside a refractory period; within one, only one louder
    /// by `louder_by` than the alarm that started it. An alarm starts the period.
    fn report(&mut self, surprise: f64) -> f64 {
        self.since_reported = self.since_reported.saturating_add(1);
        let held = self.since_reported <= self.config.refractory;
        if held && surprise <= self.reported + self.config.louder_by {
            return 0.0;
        }
        if surprise >= self.config.alarm {
            self.reported = surprise;
            self.since_reported = 0;
        }
        surprise
    }
}

impl Detector for EnsembleDetector {
    fn observe(&mut self, point: Point) -> Verdict {
        if !point.value.is_finite() {
            return Verdict::unknown(point.value);
        }
        let (level, _) = self.level.surprise(point);
        let drift = self.drift.as_mut().map_or(0.0, |d| d.surprise(point).0);
        let gate = match self.config.seasonal_gate {
            g if g > 0.0 => self.seasonal.member().strength().powf(g),
            _ => 1.0,
        };
        let (seasonal, band) = self.seasonal.surprise(point);
        let mut surprise = (self.config.level_weight * level)
            .max(self.config.drift_weight * drift)
            .max(self.config.seasonal_weight * gate * seasonal);
        if let Some(mixture) = &mut self.mixture {
            surprise = surprise.max(self.config.mixture_weight * mixture.surprise(point).0);
        }
        Verdict {
            score: to_score(self.report(surprise)),
            expected: band.expected,
            lower: band.lower,
            upper: band.upper,
        }
    }

    fn snapshot(&self) -> DetectorState {
        self.clone().into()
    }

    fn forecast(&self, time: i64) -> Option<super::Forecast> {
        self.seasonal.member().forecast(time)
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.level.bytes()
            + self.drift.as_ref().map_or(0, Calibrated::bytes)
            + self.seasonal.bytes()
            + self.mixture.as_ref().map_or(0, Calibrated::bytes)
    }
}

impl Registered for EnsembleDetector {
    type Config = EnsembleConfig;

    fn read(fields: serde_yaml_ng::Value) -> Result<EnsembleConfig, String> {
        read_fields(fields)
    }

    fn build(config: &EnsembleConfig, seed: u64) -> Self {
        EnsembleDetector::new(config.clone(), seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_refractory_period_only_a_much_louder_alarm_is_reported() {
        let mut ensemble = EnsembleDetector::new(EnsembleConfig::default(), 1);
        assert_eq!(ensemble.report(1.0), 1.0, "below an alarm, as it is");
        assert_eq!(ensemble.report(2.0), 2.0, "the first alarm");
        assert_eq!(
            ensemble.report(3.0),
            0.0,
            "ten times rarer: the same anomaly"
        );
        assert_eq!(ensemble.report(4.0), 4.0, "a hundred times rarer is news");
        for _ in 0..100 {
            assert_eq!(ensemble.report(1.0), 0.0, "held back");
        }
        assert_eq!(ensemble.report(1.0), 1.0, "the refractory period is over");
        assert_eq!(ensemble.report(1.2), 1.2, "and no alarm started another");
    }
}
