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
//! One table, the `registry!` below: a line per detector, its name and its type (which
//! implements [`Registered`]). Adding a detector is a file here and one line there; a member
//! the ensemble can use implements [`Member`], and `Calibrated<M>` is then a detector too.

mod calibration;
pub mod drift;
pub mod ensemble;
pub mod level;
mod member;
pub mod mixture;
mod registry;
pub mod seasonal;
mod window;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use registry::registry;

pub use calibration::{to_score, TailConfig};
pub use drift::{DriftConfig, DriftDetector};
pub use ensemble::{EnsembleConfig, EnsembleDetector};
pub use level::{LevelConfig, LevelDetector};
pub use member::{Calibrated, Forecast, Measurement, Member};
pub use mixture::{MixtureConfig, MixtureDetector};
pub use registry::Standalone;
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

/// What a registered detector provides, beyond the [`Detector`] contract: its configuration,
/// how that is read from YAML, and how a fresh detector is made from it. Its saved state is
/// the detector itself (serde), so resuming is reading it back.
pub trait Registered: Detector + Clone + Serialize + DeserializeOwned + 'static {
    type Config: std::fmt::Debug + Clone + PartialEq + Serialize + DeserializeOwned;
    /// Reads the configuration from its YAML fields (all but `type:`), naming the field at
    /// fault in the error.
    fn read(fields: serde_yaml_ng::Value) -> Result<Self::Config, String>;
    /// A fresh detector; `seed` fixes every random choice it makes.
    fn build(config: &Self::Config, seed: u64) -> Self;
}

registry! {
    /// Distance from the running median.
    "level" => Level(LevelDetector),
    /// A sustained move from the running median.
    "drift" => Drift(DriftDetector),
    /// Residuals from a level with daily and weekly seasonal profiles.
    "seasonal" => Seasonal(SeasonalDetector),
    /// A `linfa` Gaussian mixture over windowed features.
    "mixture" => Mixture(MixtureDetector),
    /// The four combined (the default).
    "ensemble" => Ensemble(EnsembleDetector),
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig::Ensemble(EnsembleConfig::default())
    }
}

impl DetectorConfig {
    /// Reads a configuration written as YAML (`type:` defaults to `ensemble`); the error
    /// names the field at fault (`tail.peaks: invalid type ...`).
    pub fn from_yaml(value: serde_yaml_ng::Value) -> Result<DetectorConfig, String> {
        let (kind, fields) = registry::split_type(value)?;
        Self::read_named(&kind, fields).unwrap_or_else(|| {
            Err(format!(
                "type: unknown detector `{kind}`; known: {}",
                Self::NAMES.join(", ")
            ))
        })
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

    #[test]
    fn configurations_and_saved_states_carry_the_registered_name() {
        for name in DetectorConfig::NAMES {
            let text = format!("type: {name}");
            let config =
                DetectorConfig::from_yaml(serde_yaml_ng::from_str(&text).unwrap()).unwrap();
            assert_eq!(config.name(), *name);
            let written = serde_json::to_value(&config).unwrap();
            assert_eq!(written["type"], *name, "config {written}");
            let saved = serde_json::to_value(config.build(1).snapshot()).unwrap();
            assert_eq!(saved["type"], *name, "state of {name}");
        }
    }
}
