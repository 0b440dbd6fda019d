//! `taishan-analyzer`: learns each watched series' normal shape and says how unusual each new
//! point is.
//!
//! - [`detectors`]: the online detectors behind one [`Detector`] trait (a seasonal baseline,
//!   a `linfa` mixture model, their ensemble), with persistent state.
//! - [`watch`]: live series watched by PromQL queries, each with its own detector, the
//!   verdicts written back as `taishan_anomaly_*` series, the state saved across restarts.
//! - [`rca`]: root cause — the services and calls that most likely caused an alert, from
//!   the service graph and how each one's series moved.
//! - [`forecast`]: seasonal forecasts with intervals, for capacity.
//! - [`live`]: all of it running inside Taishan: the watches scored on the store, root
//!   causes annotated on firing alerts, and the analyzer's API.
//! - [`nab`]: the Numenta Anomaly Benchmark's corpus, scoring and runner.
#![forbid(unsafe_code)]

pub mod config;
pub mod detectors;
pub mod forecast;
pub mod live;
pub mod nab;
pub mod rca;
pub mod watch;

pub use config::{AnalyzerConfig, WatchConfig};
pub use detectors::{Detector, DetectorConfig, DetectorState, Point, Verdict};
pub use watch::{Watch, Watcher, WatcherState};
