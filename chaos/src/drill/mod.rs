//! Drills: a steady state, faults on a schedule, what must happen, when to stop, and the
//! targets the response is scored against ([`spec`]); the verdict on a run's timeline and
//! money proof ([`report`]).

pub mod report;
pub mod spec;

pub use report::{judge, DrillReport, MoneyProof, Timeline, Verdict};
pub use spec::{parse_drill, DrillSpec};
