//! Drills: a steady state, faults on a schedule, what must happen, when to stop, and the
//! targets the response is scored against ([`spec`]).

pub mod spec;

pub use spec::{parse_drill, DrillSpec};
