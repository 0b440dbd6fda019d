//! Guard state as metrics and log lines: every change counted and logged with its reason,
//! every guard's current state and refusals observed at each export.

use std::sync::Arc;

use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::{Context, KeyValue};
use taishan_guard::{Guards, Transition, TransitionObserver};

use super::ServiceTelemetry;

/// Reports a service's guard changes through its telemetry.
#[derive(Debug)]
pub struct GuardTelemetry {
    telemetry: Arc<ServiceTelemetry>,
    transitions: Counter<u64>,
}

impl GuardTelemetry {
    /// An observer for `telemetry`'s service.
    pub fn new(telemetry: Arc<ServiceTelemetry>) -> Arc<Self> {
        let transitions = telemetry
            .meter()
            .u64_counter("guard.transitions")
            .with_description("Guard state changes, by guard, kind and the states left and entered")
            .build();
        Arc::new(Self {
            telemetry,
            transitions,
        })
    }

    /// Observes `guards`' states and refusals at every metrics export.
    pub fn observe(&self, guards: Arc<Guards>) {
        let meter = self.telemetry.meter();
        let g = guards.clone();
        meter
            .u64_observable_gauge("guard.state")
            .with_description("1 for the state each guard is in, 0 for the others")
            .with_callback(move |o| {
                for s in g.snapshot() {
                    // Every state of the kind, so each is reported 0 or 1.
                    for state in s.kind.states() {
                        o.observe(
                            u64::from(*state == s.state),
                            &[
                                KeyValue::new("guard", s.name.to_string()),
                                KeyValue::new("kind", s.kind.as_str()),
                                KeyValue::new("state", state.as_str()),
                            ],
                        );
                    }
                }
            })
            .build();
        meter
            .u64_observable_counter("guard.rejections")
            .with_description("Calls refused by each guard")
            .with_callback(move |o| {
                for s in guards.snapshot() {
                    o.observe(
                        s.rejected,
                        &[
                            KeyValue::new("guard", s.name.to_string()),
                            KeyValue::new("kind", s.kind.as_str()),
                        ],
                    );
                }
            })
            .build();
    }
}

impl TransitionObserver for GuardTelemetry {
    fn on_transition(&self, t: &Transition) {
        self.transitions.add(
            1,
            &[
                KeyValue::new("guard", t.guard.to_string()),
                KeyValue::new("kind", t.kind.as_str()),
                KeyValue::new("from", t.from.as_str()),
                KeyValue::new("to", t.to.as_str()),
            ],
        );
        tracing::warn!(service = self.telemetry.service(), guard = %t.guard, kind = %t.kind, from = %t.from, to = %t.to, reason = %t.reason, "guard state changed");
        self.telemetry.log(
            &Context::new(),
            Severity::Warn,
            format!("{} {} {} → {}: {}", t.kind, t.guard, t.from, t.to, t.reason),
            [
                KeyValue::new("guard", t.guard.to_string()),
                KeyValue::new("guard.kind", t.kind.as_str()),
                KeyValue::new("guard.from", t.from.as_str()),
                KeyValue::new("guard.to", t.to.as_str()),
                KeyValue::new("guard.reason", t.reason.clone()),
            ],
        );
    }
}
