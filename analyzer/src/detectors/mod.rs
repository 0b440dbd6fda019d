//! Online anomaly detectors.
//!
//! # The `Detector` contract
//! - **Online and causal**: [`Detector::observe`] scores the point it is given from what the
//!   detector learnt from earlier points, and only then learns from it. Nothing a detector
//!   does may depend on a point it has not been given yet, so appending future points never
//!   changes a past score.
//! - **Bounded memory**: a detector's state has a fixed upper size, whatever the length of
//!   the series ([`Detector::memory_bytes`] reports it; the target is ≤ 8 KB per series).
//! - **Scores in [0, 1]**, comparable across series: 0 is ordinary, values near 1 are rare
//!   for this series. Alongside the score, the expected value and a band for charts.
//! - **Deterministic**: the same configuration, seed and points give the same scores.
//! - **Persistent**: [`Detector::snapshot`] captures the whole state as a [`DetectorState`];
//!   a detector resumed from it scores the next points exactly as the uninterrupted one.
//! - **Heavy work is the caller's to place**: `observe` may refit a model (the mixture
//!   detector does, every few hundred points), so callers run detectors off the async
//!   workers.
//!
//! # Registration
//! One enum, [`DetectorConfig`], lists every member with its configuration; adding a
//! detector is a file here and one variant there (and in [`DetectorState`]).

mod calibration;
pub mod drift;
pub mod ensemble;
pub mod level;
mod member;
pub mod mixture;
pub mod seasonal;
mod window;

use serde::{Deserialize, Serialize};

pub use calibration::{to_score, TailConfig};
pub use drift::{DriftConfig, DriftDetector};
pub use ensemble::{EnsembleConfig, EnsembleDetector};
pub use level::{LevelConfig, LevelDetector};
pub use member::{Calibrated, Forecast, Measurement, Member};
pub use mixture::{MixtureConfig, MixtureDetector};
pub use seasonal::{SeasonalConfig, SeasonalDetector};

/// One point of a watched series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Seconds since the epoch.
    pub time: i64,
    pub value: f64,
}

/// What a detector says about one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Anomaly score in [0, 1].
    pub score: f64,
    /// The value the detector expected here.
    pub expected: f64,
    /// The band of ordinary values around `expected`.
    pub lower: f64,
    pub upper: f64,
}

impl Verdict {
    /// A verdict with nothing learnt yet: score 0, the point itself as expected.
    pub fn unknown(value: f64) -> Self {
        Verdict {
            score: 0.0,
            expected: value,
            lower: value,
            upper: value,
        }
    }
}

/// An online anomaly detector over one series; see the module's contract.
pub trait Detector: Send {
    /// Scores `point`, then learns from it. A value that is not a finite number (a gap) is
    /// neither scored nor learnt from.
    fn observe(&mut self, point: Point) -> Verdict;
    /// The whole state, to be stored and resumed.
    fn snapshot(&self) -> DetectorState;
    /// Bytes of state held for this series.
    fn memory_bytes(&self) -> usize;
    /// The value it expects at `time` (s, ahead of the points seen) with a band, when it
    /// models the series' seasons.
    fn forecast(&self, _time: i64) -> Option<Forecast> {
        None
    }
}

/// Every detector, with its configuration: the family's one registration point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DetectorConfig {
    /// Distance from the running median.
    Level(Standalone<LevelConfig>),
    /// A sustained move from the running median.
    Drift(Standalone<DriftConfig>),
    /// Residuals from a level with daily and weekly seasonal profiles.
    Seasonal(Standalone<SeasonalConfig>),
    /// A `linfa` Gaussian mixture over windowed features.
    Mixture(Standalone<MixtureConfig>),
    /// The four combined (the default).
    Ensemble(EnsembleConfig),
}

/// A member's configuration when it runs on its own, with the tail that calibrates it.
/// (Read from YAML by [`DetectorConfig::from_yaml`], which checks every field.)
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Standalone<C> {
    #[serde(flatten)]
    pub member: C,
    #[serde(default)]
    pub tail: TailConfig,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig::Ensemble(EnsembleConfig::default())
    }
}

impl DetectorConfig {
    /// The detectors' names, as `type:` takes them.
    pub const NAMES: [&'static str; 5] = ["level", "drift", "seasonal", "mixture", "ensemble"];

    /// Reads a configuration written as YAML (`type:` defaults to `ensemble`); the error
    /// names the field at fault (`tail.peaks: invalid type ...`).
    pub fn from_yaml(value: serde_yaml_ng::Value) -> Result<DetectorConfig, String> {
        let mut map = match value {
            serde_yaml_ng::Value::Mapping(m) => m,
            serde_yaml_ng::Value::Null => serde_yaml_ng::Mapping::new(),
            _ => return Err("must be a mapping with a `type`".into()),
        };
        let kind = match map.remove("type") {
            None => "ensemble".to_string(),
            Some(serde_yaml_ng::Value::String(s)) => s,
            Some(other) => return Err(format!("type: must be a name, got {other:?}")),
        };
        let rest = serde_yaml_ng::Value::Mapping(map);
        fn read<T: serde::de::DeserializeOwned>(v: serde_yaml_ng::Value) -> Result<T, String> {
            serde_path_to_error::deserialize(v).map_err(|e| {
                let path = e.path().to_string();
                if path == "." {
                    e.inner().to_string()
                } else {
                    format!("{path}: {}", e.inner())
                }
            })
        }
        // A member on its own: its tail apart, so each part is read with its paths.
        fn standalone<C: serde::de::DeserializeOwned>(
            rest: serde_yaml_ng::Value,
        ) -> Result<Standalone<C>, String> {
            let serde_yaml_ng::Value::Mapping(mut map) = rest else {
                return Err("must be a mapping".into());
            };
            let tail = match map.remove("tail") {
                Some(t) => read(t).map_err(|e| format!("tail.{e}"))?,
                None => TailConfig::default(),
            };
            let member = read(serde_yaml_ng::Value::Mapping(map))?;
            Ok(Standalone { member, tail })
        }
        match kind.as_str() {
            "level" => standalone(rest).map(DetectorConfig::Level),
            "drift" => standalone(rest).map(DetectorConfig::Drift),
            "seasonal" => standalone(rest).map(DetectorConfig::Seasonal),
            "mixture" => standalone(rest).map(DetectorConfig::Mixture),
            "ensemble" => read(rest).map(DetectorConfig::Ensemble),
            other => Err(format!(
                "type: unknown detector `{other}`; known: {}",
                Self::NAMES.join(", ")
            )),
        }
    }

    /// A fresh detector; `seed` fixes every random choice it makes.
    pub fn build(&self, seed: u64) -> Box<dyn Detector> {
        match self {
            DetectorConfig::Level(c) => Box::new(LevelDetector::new(
                level::LevelBaseline::new(c.member.clone()),
                &c.tail,
            )),
            DetectorConfig::Drift(c) => Box::new(DriftDetector::new(
                drift::DriftBaseline::new(c.member.clone()),
                &c.tail,
            )),
            DetectorConfig::Seasonal(c) => Box::new(SeasonalDetector::new(
                seasonal::SeasonalBaseline::new(c.member.clone()),
                &c.tail,
            )),
            DetectorConfig::Mixture(c) => Box::new(MixtureDetector::new(
                mixture::MixtureModel::new(c.member.clone(), seed),
                &c.tail,
            )),
            DetectorConfig::Ensemble(c) => Box::new(EnsembleDetector::new(c.clone(), seed)),
        }
    }

    /// The detector's name, as in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            DetectorConfig::Level(_) => "level",
            DetectorConfig::Drift(_) => "drift",
            DetectorConfig::Seasonal(_) => "seasonal",
            DetectorConfig::Mixture(_) => "mixture",
            DetectorConfig::Ensemble(_) => "ensemble",
        }
    }
}

/// The saved state of any detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DetectorState {
    Level(LevelDetector),
    Drift(DriftDetector),
    Seasonal(SeasonalDetector),
    Mixture(MixtureDetector),
    Ensemble(Box<EnsembleDetector>),
}

impl DetectorState {
    /// The detector this state was taken from, ready to go on.
    pub fn resume(self) -> Box<dyn Detector> {
        match self {
            DetectorState::Level(d) => Box::new(d),
            DetectorState::Drift(d) => Box::new(d),
            DetectorState::Seasonal(d) => Box::new(d),
            DetectorState::Mixture(d) => Box::new(d),
            DetectorState::Ensemble(d) => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<DetectorConfig, String> {
        DetectorConfig::from_yaml(serde_yaml_ng::from_str(text).unwrap())
    }

    #[test]
    fn configurations_read_with_the_field_at_fault_named() {
        assert_eq!(read("~"), Ok(DetectorConfig::default()));
        assert!(matches!(read("type: level"), Ok(DetectorConfig::Level(_))));
        let err = read("type: seasonal\nday_slots: many").unwrap_err();
        assert!(err.starts_with("day_slots: invalid type"), "{err}");
        let err = read("type: level\nbogus: 1").unwrap_err();
        assert!(err.contains("bogus"), "{err}");
        let err = read("type: ensemble\ntail: {peaks: x}").unwrap_err();
        assert!(err.starts_with("tail.peaks: invalid type"), "{err}");
        let err = read("type: prophet").unwrap_err();
        assert!(
            err.contains("unknown detector `prophet`; known: level"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod roundtrip {
    use super::*;

    #[test]
    fn every_configuration_reads_back_as_written() {
        for text in [
            "type: level",
            "type: drift",
            "type: drift\nrate: 0.1\nlevel: {band: 2}",
            "type: seasonal",
            "type: mixture",
            "type: ensemble",
            "type: level\ntail: {peaks: 8, horizon: 500}",
        ] {
            let config = DetectorConfig::from_yaml(serde_yaml_ng::from_str(text).unwrap()).unwrap();
            let json = serde_json::to_string(&config).unwrap();
            let back: DetectorConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(back, config, "{json}");
        }
    }
}
