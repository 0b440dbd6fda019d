//! The ensemble: the level, seasonal and mixture members side by side, each deviation made a
//! surprise by the member's own tails (one per side for the level and seasonal members), the
//! seasonal one weighed by how strong the series' daily season is, the loudest (weighted)
//! taken, and a detection held back for a moment once made, so an anomaly is reported at its
//! onset rather than as a stream.

use serde::{Deserialize, Serialize};

use super::calibration::{to_score, TailConfig, Tails};
use super::level::{LevelBaseline, LevelConfig};
use super::member::Member;
use super::mixture::{MixtureConfig, MixtureModel};
use super::seasonal::{SeasonalBaseline, SeasonalConfig};
use super::{Detector, DetectorState, Point, Verdict};

/// Configuration of the ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleConfig {
    pub level: LevelConfig,
    /// Weight of the level member's surprise (default 1).
    pub level_weight: f64,
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
    /// Weight of the mixture member's surprise (default 0.75).
    pub mixture_weight: f64,
    /// How each member's deviations become surprises.
    pub tail: TailConfig,
    /// Points after a detection during which only a louder one is reported (default 50).
    pub refractory: u32,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            level: LevelConfig::default(),
            level_weight: 1.0,
            seasonal: SeasonalConfig::default(),
            seasonal_weight: 1.0,
            seasonal_gate: 3.0,
            mixture: Some(MixtureConfig::default()),
            mixture_weight: 0.75,
            tail: TailConfig::default(),
            refractory: 50,
        }
    }
}

/// The ensemble's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleDetector {
    config: EnsembleConfig,
    level: (LevelBaseline, Tails),
    seasonal: (SeasonalBaseline, Tails),
    mixture: Option<(MixtureModel, Tails)>,
    /// The last reported surprise, and points since.
    reported: f64,
    since_reported: u32,
}

impl EnsembleDetector {
    pub fn new(config: EnsembleConfig, seed: u64) -> Self {
        fn tails<M: Member>(config: &EnsembleConfig) -> Tails {
            Tails::new(&config.tail, M::SIDED)
        }
        EnsembleDetector {
            level: (
                LevelBaseline::new(config.level.clone()),
                tails::<LevelBaseline>(&config),
            ),
            seasonal: (
                SeasonalBaseline::new(config.seasonal.clone()),
                tails::<SeasonalBaseline>(&config),
            ),
            mixture: config
                .mixture
                .clone()
                .map(|m| (MixtureModel::new(m, seed), tails::<MixtureModel>(&config))),
            reported: 0.0,
            since_reported: 0,
            config,
        }
    }

    /// The surprise to report: a louder one than the last always, any once the refractory
    /// period has passed.
    fn report(&mut self, surprise: f64) -> f64 {
        self.since_reported = self.since_reported.saturating_add(1);
        if surprise > self.reported || self.since_reported > self.config.refractory {
            self.reported = surprise;
            self.since_reported = 0;
            surprise
        } else {
            0.0
        }
    }
}

fn surprise_of<M: Member>(member: &mut (M, Tails), point: Point, weight: f64) -> (f64, Verdict) {
    let m = member.0.measure(point);
    let surprise = weight * m.deviation.map_or(0.0, |d| member.1.update(d));
    let verdict = Verdict {
        score: 0.0,
        expected: m.expected,
        lower: m.lower,
        upper: m.upper,
    };
    (surprise, verdict)
}

impl Detector for EnsembleDetector {
    fn observe(&mut self, point: Point) -> Verdict {
        if !point.value.is_finite() {
            return Verdict::unknown(point.value);
        }
        let (level, _) = surprise_of(&mut self.level, point, self.config.level_weight);
        let gate = match self.config.seasonal_gate {
            g if g > 0.0 => self.seasonal.0.strength().powf(g),
            _ => 1.0,
        };
        let (seasonal, mut verdict) = surprise_of(
            &mut self.seasonal,
            point,
            self.config.seasonal_weight * gate,
        );
        let mut surprise = level.max(seasonal);
        if let Some(mixture) = &mut self.mixture {
            surprise = surprise.max(surprise_of(mixture, point, self.config.mixture_weight).0);
        }
        verdict.score = to_score(self.report(surprise));
        verdict
    }

    fn snapshot(&self) -> DetectorState {
        DetectorState::Ensemble(Box::new(self.clone()))
    }

    fn forecast(&self, time: i64) -> Option<super::Forecast> {
        self.seasonal.0.forecast(time)
    }

    fn memory_bytes(&self) -> usize {
        let mixture = self
            .mixture
            .as_ref()
            .map_or(0, |(m, t)| m.memory_bytes() + t.memory_bytes());
        std::mem::size_of::<Self>()
            + self.level.0.memory_bytes()
            + self.level.1.memory_bytes()
            + self.seasonal.0.memory_bytes()
            + self.seasonal.1.memory_bytes()
            + mixture
    }
}
