//! The control plane: for every guard, the rules' decision and the operator's, which of
//! them is in force (the operator's, until released), what the service last reported, and
//! a version that moves with every change so followers fetch only what changed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use taishan_core::{
    Clock, DecisionRefused, DecisionSink, DecisionSource, GuardCommand, GuardDecision, GuardTarget,
};
use taishan_guard::{GuardKind, GuardState};
use tokio::sync::watch;

use crate::audit::{AuditEntry, AuditError, AuditEvent, AuditLog};
use crate::metrics::ControlMetrics;

/// What a follower should make of a guard now.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Directive {
    /// The guard.
    pub target: GuardTarget,
    /// The command in force; `release` when none is.
    pub command: GuardCommand,
    /// Why.
    pub reason: String,
    /// Changes with every change of the guard's directive.
    pub version: u64,
}

/// What a service last said of one of its guards.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ReportedState {
    /// Its family.
    pub kind: GuardKind,
    /// Its state.
    pub state: GuardState,
    /// When (ms).
    pub at_ms: i64,
}

/// One guard's state as a service reports it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportedGuard {
    /// Its name.
    pub name: String,
    /// Its family.
    pub kind: GuardKind,
    /// Its state.
    pub state: GuardState,
}

/// Everything the control plane knows of one guard.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct GuardRecord {
    /// The guard.
    pub target: GuardTarget,
    /// The rules' decision, if any.
    pub automatic: Option<GuardDecision>,
    /// The operator's decision, if any; it wins while it lasts.
    pub manual: Option<GuardDecision>,
    /// What followers are told.
    pub directive: Directive,
    /// The service's last report.
    pub reported: Option<ReportedState>,
}

impl GuardRecord {
    fn new(target: GuardTarget) -> Self {
        Self {
            directive: Directive {
                target: target.clone(),
                command: GuardCommand::Release { probe: true },
                reason: String::new(),
                version: 0,
            },
            target,
            automatic: None,
            manual: None,
            reported: None,
        }
    }

    /// The decision in force: the operator's, else the rules'.
    pub fn in_force(&self) -> Option<&GuardDecision> {
        self.manual.as_ref().or(self.automatic.as_ref())
    }
}

#[derive(Debug, Default, Clone)]
struct State {
    guards: BTreeMap<GuardTarget, GuardRecord>,
    version: u64,
}

impl State {
    fn record(&mut self, target: &GuardTarget) -> &mut GuardRecord {
        self.guards
            .entry(target.clone())
            .or_insert_with(|| GuardRecord::new(target.clone()))
    }

    /// Takes `decision` into account; returns whether it is in force.
    fn take(&mut self, decision: &GuardDecision) -> bool {
        let manual = matches!(decision.source, DecisionSource::Operator { .. });
        let version = self.version + 1;
        let rec = self.record(&decision.target);
        let release = matches!(decision.command, GuardCommand::Release { .. });
        match (manual, release) {
            // An operator's release hands the guard back altogether.
            (true, true) => {
                rec.manual = None;
                rec.automatic = None;
            }
            (true, false) => rec.manual = Some(decision.clone()),
            (false, true) => rec.automatic = None,
            (false, false) => rec.automatic = Some(decision.clone()),
        }
        let in_force = manual || rec.manual.is_none();
        let (command, reason) = match rec.in_force() {
            Some(d) => (d.command.clone(), d.reason.clone()),
            None if release => (decision.command.clone(), decision.reason.clone()),
            None => (
                GuardCommand::Release { probe: true },
                decision.reason.clone(),
            ),
        };
        if rec.directive.command != command || in_force {
            rec.directive = Directive {
                target: decision.target.clone(),
                command,
                reason,
                version,
            };
            self.version = version;
        }
        in_force
    }
}

/// The guards' control plane, shared by the rule engine, the admin API and the followers.
pub struct ControlPlane {
    state: Mutex<State>,
    audit: Mutex<AuditLog>,
    clock: Arc<dyn Clock>,
    changed: watch::Sender<u64>,
    metrics: Option<ControlMetrics>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("version", &self.state.lock().version)
            .finish()
    }
}

impl ControlPlane {
    /// A control plane whose audit log lives at `audit_path`; the decisions in force when it
    /// was last used are in force again.
    pub fn open(audit_path: &Path, clock: Arc<dyn Clock>) -> Result<Self, AuditError> {
        let (audit, history) = AuditLog::open(audit_path)?;
        let mut state = State::default();
        for entry in &history {
            if let AuditEvent::Decided { decision, .. } = &entry.event {
                state.take(decision);
            }
        }
        let restored = state
            .guards
            .values()
            .filter(|g| g.in_force().is_some())
            .count();
        if restored > 0 {
            tracing::info!(
                guards = restored,
                "guard decisions restored from the audit log"
            );
        }
        Ok(Self::with(state, audit, clock))
    }

    /// A control plane with no history and no file (tests).
    pub fn in_memory(clock: Arc<dyn Clock>) -> Self {
        Self::with(State::default(), AuditLog::in_memory(), clock)
    }

    fn with(state: State, audit: AuditLog, clock: Arc<dyn Clock>) -> Self {
        let (changed, _) = watch::channel(state.version);
        Self {
            state: Mutex::new(state),
            audit: Mutex::new(audit),
            clock,
            changed,
            metrics: None,
        }
    }

    /// Counts what happens from now on in `metrics`.
    pub fn with_metrics(mut self, metrics: ControlMetrics) -> Self {
        metrics.held.set(self.held() as i64);
        self.metrics = Some(metrics);
        self
    }

    fn held(&self) -> usize {
        self.state
            .lock()
            .guards
            .values()
            .filter(|g| g.in_force().is_some())
            .count()
    }

    /// Writes `event` (synced) with the plane's `state` locked, so the log's order is the
    /// state's; rotates the log when it is due, carrying `state`'s decisions in force.
    fn audit(&self, state: &State, event: AuditEvent) -> Result<(), AuditError> {
        let at = self.clock.now_ms();
        let mut log = self.audit.lock();
        log.append(at, event)?;
        if log.wants_rotation() {
            // The entry is durable already; a failed rotation only delays the next one.
            if let Err(e) = log.rotate(at, in_force_events(state)) {
                tracing::error!(error = %e, "could not rotate the guard audit log");
            }
        }
        Ok(())
    }

    /// Rotates the audit log at `bytes` (tests).
    pub fn rotate_audit_at(&self, bytes: u64) {
        self.audit.lock().rotate_at(bytes);
    }

    /// Records `decision`; returns whether it is in force (an operator's decision keeps a
    /// rule's waiting). The decision counts only once it is in the audit log: when the log
    /// cannot be written, it is refused and nothing changes.
    pub fn submit(&self, decision: GuardDecision) -> Result<bool, AuditError> {
        let (in_force, version) = {
            let mut s = self.state.lock();
            // Tried on a copy, so a refused audit write leaves the plane as it was.
            let mut next = s.clone();
            let in_force = next.take(&decision);
            let event = AuditEvent::Decided {
                decision: decision.clone(),
                in_force,
            };
            if let Err(e) = self.audit(&next, event) {
                tracing::error!(guard = %decision.target, command = %decision.command, error = %e, "guard decision refused: the audit log cannot be written");
                return Err(e);
            }
            *s = next;
            (in_force, s.version)
        };
        tracing::warn!(
            guard = %decision.target,
            command = %decision.command,
            reason = %decision.reason,
            in_force,
            "guard decision"
        );
        if let Some(m) = self.metrics.as_ref() {
            let source = match decision.source {
                DecisionSource::Rule { .. } => "rule",
                DecisionSource::Operator { .. } => "operator",
            };
            m.decisions
                .with_label_values(&[
                    source,
                    decision.command.name(),
                    if in_force { "true" } else { "false" },
                ])
                .inc();
            m.held.set(self.held() as i64);
        }
        self.changed.send_replace(version);
        Ok(in_force)
    }

    /// Every guard known, by service and name.
    pub fn guards(&self) -> Vec<GuardRecord> {
        self.state.lock().guards.values().cloned().collect()
    }

    /// One guard.
    pub fn guard(&self, target: &GuardTarget) -> Option<GuardRecord> {
        self.state.lock().guards.get(target).cloned()
    }

    /// The plane's time (ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A receiver that wakes on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The directives of `service`'s guards changed after `since`, and the version now.
    pub fn directives(&self, service: &str, since: u64) -> (u64, Vec<Directive>) {
        let s = self.state.lock();
        let changed = s
            .guards
            .values()
            .filter(|g| g.target.service == service && g.directive.version > since)
            .map(|g| g.directive.clone())
            .collect();
        (s.version, changed)
    }

    /// Records what a service did with a directive.
    pub fn applied(
        &self,
        target: &GuardTarget,
        command: &GuardCommand,
        error: Option<String>,
    ) -> Result<(), AuditError> {
        if let Some(e) = &error {
            tracing::error!(guard = %target, command = %command, error = %e, "a service could not apply a guard decision");
            if let Some(m) = self.metrics.as_ref() {
                m.refused.with_label_values(&[&target.service]).inc();
            }
        }
        let s = self.state.lock();
        self.audit(
            &s,
            AuditEvent::Applied {
                target: target.clone(),
                command: command.clone(),
                error,
            },
        )
    }

    /// Takes a service's report of its guards' states; each change is audited before it is
    /// taken, so a change the log could not take is reported again next time.
    pub fn report(&self, service: &str, guards: &[ReportedGuard]) -> Result<(), AuditError> {
        let now = self.clock.now_ms();
        let mut s = self.state.lock();
        for g in guards {
            let target = GuardTarget {
                service: service.to_string(),
                guard: g.name.clone(),
            };
            let before = s.guards.get(&target).and_then(|r| r.reported.as_ref());
            let from = before.map(|r| r.state);
            if from != Some(g.state) {
                let event = AuditEvent::Reported {
                    target: target.clone(),
                    from,
                    to: g.state,
                };
                self.audit(&s, event)?;
                if let Some(m) = self.metrics.as_ref() {
                    m.reported
                        .with_label_values(&[service, g.state.as_str()])
                        .inc();
                }
            }
            s.record(&target).reported = Some(ReportedState {
                kind: g.kind,
                state: g.state,
                at_ms: now,
            });
        }
        Ok(())
    }

    /// Audit entries newest first.
    pub fn audit_entries(
        &self,
        service: Option<&str>,
        guard: Option<&str>,
        limit: usize,
    ) -> Vec<AuditEntry> {
        self.audit.lock().recent(service, guard, limit)
    }
}

impl DecisionSink for ControlPlane {
    fn decide(&self, decision: GuardDecision) -> Result<(), DecisionRefused> {
        self.submit(decision)
            .map(|_| ())
            .map_err(|e| DecisionRefused {
                reason: e.to_string(),
            })
    }
}

/// The decisions in force as audit events, the rules' before the operators' so that a
/// replay takes them in the same order.
fn in_force_events(s: &State) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    for g in s.guards.values() {
        if let Some(d) = &g.automatic {
            events.push(AuditEvent::Decided {
                decision: d.clone(),
                in_force: g.manual.is_none(),
            });
        }
        if let Some(d) = &g.manual {
            events.push(AuditEvent::Decided {
                decision: d.clone(),
                in_force: true,
            });
        }
    }
    events
}
