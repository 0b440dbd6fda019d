//! `taishan-analyzer`: learns each watched series' normal shape and says how unusual each new
//! point is.
//!
//! - [`detectors`]: the online detectors behind one [`Detector`] trait (a seasonal baseline,
//!   a `linfa` mixture model, their ensemble), with persistent state.
//! - [`nab`]: the Numenta Anomaly Benchmark's corpus, scoring and runner.
#![forbid(unsafe_code)]

pub mod detectors;
pub mod nab;

pub use detectors::{Detector, DetectorConfig, DetectorState, Point, Verdict};
