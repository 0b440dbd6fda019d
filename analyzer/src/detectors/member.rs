//! What the ensemble's members have in common: each measures a raw deviation of its own kind,
//! and [`Calibrated`] makes any of them a detector on its own.

use serde::{Deserialize, Serialize};

use super::calibration::{to_score, TailConfig, Tails};
use super::{Point, Verdict};

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

/// Implements [`Detector`] for a calibrated member, naming its [`super::DetectorState`] variant.
macro_rules! calibrated_detector {
    ($member:ty, $variant:ident) => {
        impl $crate::detectors::Detector for $crate::detectors::member::Calibrated<$member> {
            fn observe(&mut self, point: $crate::detectors::Point) -> $crate::detectors::Verdict {
                self.verdict(point)
            }

            fn snapshot(&self) -> $crate::detectors::DetectorState {
                $crate::detectors::DetectorState::$variant(self.clone())
            }

            fn memory_bytes(&self) -> usize {
                self.bytes()
            }

            fn forecast(&self, time: i64) -> Option<$crate::detectors::Forecast> {
                $crate::detectors::Member::forecast(self.member(), time)
            }
        }
    };
}
pub(crate) use calibrated_detector;
