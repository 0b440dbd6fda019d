//! What the rule engine and operators ask of the services' guards, and why: the vocabulary
//! shared by the rules' actions (which decide), the guard control plane (which records and
//! hands out decisions) and the services (which apply them).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One guard of one service (`payment` / `bank-a`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuardTarget {
    /// The service embedding the guard.
    pub service: String,
    /// The guard's name within the service.
    pub guard: String,
}

impl fmt::Display for GuardTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.guard)
    }
}

/// What to do to a guard.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuardCommand {
    /// Open a breaker and hold it open (no probing) until released.
    OpenBreaker,
    /// Put a breaker half-open: its probe calls decide whether it closes.
    HalfOpenBreaker,
    /// Close a breaker and hold it closed (no tripping) until released.
    CloseBreaker,
    /// Switch a degrade flag on: callers take the fallback.
    Degrade,
    /// Switch a degrade flag off.
    Undegrade,
    /// Put a rate limit in force instead of the configured one.
    SetRateLimit {
        /// Calls per second.
        rate: f64,
        /// Calls allowed at once; default one second's worth.
        #[serde(default)]
        burst: Option<u32>,
    },
    /// Hand the guard back to its own logic; an open breaker first probes (half-open) when
    /// `probe`.
    Release {
        /// Probe before closing (breakers).
        #[serde(default = "yes")]
        probe: bool,
    },
}

fn yes() -> bool {
    true
}

impl GuardCommand {
    /// The command's name as written in action files and the API.
    pub fn name(&self) -> &'static str {
        match self {
            GuardCommand::OpenBreaker => "open_breaker",
            GuardCommand::HalfOpenBreaker => "half_open_breaker",
            GuardCommand::CloseBreaker => "close_breaker",
            GuardCommand::Degrade => "degrade",
            GuardCommand::Undegrade => "undegrade",
            GuardCommand::SetRateLimit { .. } => "set_rate_limit",
            GuardCommand::Release { .. } => "release",
        }
    }
}

impl fmt::Display for GuardCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardCommand::SetRateLimit { rate, burst } => match burst {
                Some(b) => write!(f, "set_rate_limit {rate}/s (burst {b})"),
                None => write!(f, "set_rate_limit {rate}/s"),
            },
            GuardCommand::Release { probe: true } => f.write_str("release (probe first)"),
            other => f.write_str(other.name()),
        }
    }
}

/// Who decided.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionSource {
    /// An alerting rule's action.
    Rule {
        /// The tenant the rule evaluates in.
        tenant: String,
        /// The rule's group.
        group: String,
        /// The alert's name.
        alert: String,
        /// The alert's labels.
        labels: BTreeMap<String, String>,
        /// The query value that caused it.
        value: f64,
    },
    /// A person, through the admin API or CLI.
    Operator {
        /// Who (as given).
        who: String,
    },
}

/// One decision about one guard: the command, who made it, why and when.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GuardDecision {
    /// The guard.
    pub target: GuardTarget,
    /// What to do.
    pub command: GuardCommand,
    /// Who decided.
    pub source: DecisionSource,
    /// Why, in words an on-call engineer can act on.
    pub reason: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

/// Why a decision was not taken: it was not recorded, so it does not count, and the one
/// who decided may try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guard decision refused: {reason}")]
pub struct DecisionRefused {
    /// What went wrong (the audit log could not be written, ...).
    pub reason: String,
}

/// Where decisions go: the control plane in one process, a topic between processes.
pub trait DecisionSink: Send + Sync {
    /// Records and hands out `decision`; a refused decision changed nothing.
    fn decide(&self, decision: GuardDecision) -> Result<(), DecisionRefused>;
}
