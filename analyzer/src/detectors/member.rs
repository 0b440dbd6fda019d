//! What the ensemble's members have in common: each measures a raw deviation of its own kind,
//! and [`Calibrated`] makes any of them a detector on its own.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::calibration::{to_score, TailConfig, Tails};
use super::registry::{read_standalone, Standalone};
use super::{Detector, DetectorState, Point, Registered, Verdict};

/// What a member measured at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// How far from ordinary the point is, in the member's own unit: ≥ 0, or for a
    /// [`Member::SIDED`] member negative below what was expected. `None` while the member has
    /// no baseline to measure against, so its tails learn nothing from it.
    pub deviation: Option<f64>,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Measurement {
    /// Nothing learnt yet: no deviation, the point itself expected.
    pub fn nothing_yet(value: f64) -> Self {
        Measurement {
            deviation: None,
            expected: value,
            lower: value,
            upper: value,
        }
    }
}

/// A source of raw deviations. Same promises as [`Detector`] (causal, bounded, seeded).
pub trait Member: Send + Clone {
    /// Its configuration, as the ensemble and a standalone detector take it.
    type Config: std::fmt::Debug + Clone + PartialEq + Serialize + DeserializeOwned;
    /// A fresh member; `seed` fixes every random choice it makes.
    fn fresh(config: Self::Config, seed: u64) -> Self;
    /// Whether its deviations have a direction, each side then calibrated on its own.
    const SIDED: bool = false;
    /// Measures `point`, then learns from it.
    fn measure(&mut self, point: Point) -> Measurement;
    /// Bytes of state held.
    fn memory_bytes(&self) -> usize;
    /// What it expects at `time` (s) ahead of the points seen, with a band: only members
    /// that model time (the seasonal one) can say.
    fn forecast(&self, _time: i64) -> Option<Forecast> {
        None
    }
}

/// A value expected ahead, with its band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A member on its own: its deviations through its [`Tails`] into scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibrated<M> {
    member: M,
    tail: Tails,
}

impl<M: Member> Calibrated<M> {
    pub fn new(member: M, tail: &TailConfig) -> Self {
        Calibrated {
            member,
            tail: Tails::new(tail, M::SIDED),
        }
    }

    pub(crate) fn verdict(&mut self, point: Point) -> Verdict {
        if !point.value.is_finite() {
            return Verdict::unknown(point.value);
        }
        let (surprise, m) = self.surprise(point);
        Verdict {
            score: to_score(surprise),
            expected: m.expected,
            lower: m.lower,
            upper: m.upper,
        }
    }

    /// Measures `point` (a finite value) and makes its deviation a surprise, both learning
    /// from it; what the member measured comes with it.
    pub(crate) fn surprise(&mut self, point: Point) -> (f64, Measurement) {
        let m = self.member.measure(point);
        (m.deviation.map_or(0.0, |d| self.tail.update(d)), m)
    }

    pub(crate) fn member(&self) -> &M {
        &self.member
    }

    pub(crate) fn bytes(&self) -> usize {
        self.member.memory_bytes() + self.tail.memory_bytes()
    }
}

impl<M> Detector for Calibrated<M>
where
    M: Member,
    Self: Into<DetectorState>,
{
    fn observe(&mut self, point: Point) -> Verdict {
        self.verdict(point)
    }

    fn snapshot(&self) -> DetectorState {
        self.clone().into()
    }

    fn memory_bytes(&self) -> usize {
        self.bytes()
    }

    fn forecast(&self, time: i64) -> Option<Forecast> {
        self.member.forecast(time)
    }
}

/// A member on its own is a detector of the family: configured as the member's own fields
/// beside a `tail:`.
impl<M> Registered for Calibrated<M>
where
    M: Member + Serialize + DeserializeOwned + 'static,
    Self: Into<DetectorState>,
{
    type Config = Standalone<M::Config>;

    fn read(fields: serde_yaml_ng::Value) -> Result<Self::Config, String> {
        read_standalone(fields)
    }

    fn build(config: &Self::Config, seed: u64) -> Self {
        Calibrated::new(M::fresh(config.member.clone(), seed), &config.tail)
    }
}
