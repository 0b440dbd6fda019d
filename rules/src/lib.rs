//! `taishan-rules`: the rule engine.
//!
//! Rule files in Prometheus's format ([`file`]) with alert templates (`taishan-template`) are
//! evaluated group by group ([`group`]): recording rules ([`recording`]) write series,
//! alerting rules ([`alerting`]) keep [`alert`]s through pending, firing and resolved and
//! write `ALERTS` / `ALERTS_FOR_STATE`, from which [`restore`] rebuilds `for` state after a
//! restart. Groups run on slots of their interval ([`schedule`]) under the [`manager`], which
//! reports its work in [`metrics`]; [`api`] serves `/api/v1/rules` and `/api/v1/alerts`.
//! [`actions`] drive the services' guards from firing alerts. [`unittest`] runs promtool's
//! rule unit tests.
#![forbid(unsafe_code)]

pub mod actions;
pub mod alert;
pub mod alerting;
pub mod api;
pub mod config;
pub mod demo;
pub mod eval_error;
pub mod file;
pub mod group;
mod labelset;
pub mod loader;
pub mod manager;
pub mod metrics;
pub mod recording;
pub mod restore;
pub mod schedule;
pub mod unittest;

pub use actions::{ActionEngine, ActionFile, ActionSpec};
pub use alert::{Alert, AlertState};
pub use api::rules_routes;
pub use config::RulesConfig;
pub use eval_error::RuleEvalError;
pub use file::{GroupSpec, RuleFile, RuleFileError, RuleKind, RuleSpec};
pub use group::{EvalEnv, Group, GroupRun, Rule, SampleWriter};
pub use loader::{NamedText, RuleSet};
pub use manager::{BusWriter, EvaluationListener, ManagerOptions, RuleManager};
pub use metrics::RuleMetrics;
