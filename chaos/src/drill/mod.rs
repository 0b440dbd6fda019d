//! Drills: a steady state, faults on a schedule, what must happen, when to stop, and the
//! targets the response is scored against ([`spec`]); the runner that carries one out
//! against a [`Platform`] ([`runner`], [`loss`]); the verdict on its timeline and money
//! proof ([`report`]).

pub mod loss;
pub mod platform;
pub mod report;
pub mod runner;
pub mod spec;

pub use platform::{BookKeeper, Books, BooksError, Platform, PlatformError, Reconciled};
pub use report::{judge, not_run, DrillReport, MoneyProof, Timeline, Verdict};
pub use runner::{run_drill, RunOptions};
pub use spec::{parse_drill, DrillSpec, ScheduledFault};
