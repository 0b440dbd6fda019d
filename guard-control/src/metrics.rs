//! The control plane's own metrics: what was decided, by whom, what services could not
//! carry out, and how many guards are held now.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Counters of the control plane.
#[derive(Debug, Clone)]
pub struct ControlMetrics {
    /// Decisions, by source (`rule`, `operator`), command and whether they took force.
    pub decisions: IntCounterVec,
    /// Directives a service could not carry out, by service.
    pub refused: IntCounterVec,
    /// Guard state changes services reported, by service and new state.
    pub reported: IntCounterVec,
    /// Guards under a decision now.
    pub held: IntGauge,
}

impl ControlMetrics {
    /// The metrics, not exported (tests, embedded uses without a registry).
    pub fn unregistered() -> prometheus::Result<Self> {
        Ok(Self {
            decisions: IntCounterVec::new(
                Opts::new(
                    "taishan_guard_decisions_total",
                    "Guard decisions, by source (rule, operator), command and whether they took force.",
                ),
                &["source", "command", "in_force"],
            )?,
            refused: IntCounterVec::new(
                Opts::new(
                    "taishan_guard_directives_refused_total",
                    "Directives a service could not carry out on its guards, by service.",
                ),
                &["service"],
            )?,
            reported: IntCounterVec::new(
                Opts::new(
                    "taishan_guard_reported_changes_total",
                    "Guard state changes reported by services, by service and state entered.",
                ),
                &["service", "state"],
            )?,
            held: IntGauge::new(
                "taishan_guard_held",
                "Guards under a rule's or an operator's decision now.",
            )?,
        })
    }

    /// The metrics, registered with `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self::unregistered()?;
        registry.register(Box::new(m.decisions.clone()))?;
        registry.register(Box::new(m.refused.clone()))?;
        registry.register(Box::new(m.reported.clone()))?;
        registry.register(Box::new(m.held.clone()))?;
        Ok(m)
    }
}
