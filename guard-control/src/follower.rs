//! A service following the control plane: what is in force for its guards is carried out
//! on them, and their states are reported back — in the same process through the plane
//! itself ([`follow`]), from another process over HTTP long-poll ([`crate::remote`]).

use std::sync::Arc;
use std::time::Duration;

use taishan_core::GuardCommand;
use taishan_guard::Guards;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::plane::{ControlPlane, Directive, ReportedGuard};

/// How often guard states are reported even when nothing was decided.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// A directive carried out (or not) on a guard.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The directive.
    pub directive: Directive,
    /// Why it could not be carried out.
    pub error: Option<String>,
}

/// Carries out `directives` on `guards`.
pub fn apply(guards: &Guards, directives: &[Directive]) -> Vec<Outcome> {
    directives
        .iter()
        .map(|d| {
            let reason = if d.reason.is_empty() {
                format!("control plane: {}", d.command)
            } else {
                format!("control plane: {}", d.reason)
            };
            let error = guards
                .apply(&d.target.guard, &d.command, &reason)
                .err()
                .map(|e| e.to_string());
            Outcome {
                directive: d.clone(),
                error,
            }
        })
        .collect()
}

/// Every guard's name, kind and state, as reported to the plane.
pub fn states(guards: &Guards) -> Vec<ReportedGuard> {
    guards
        .snapshot()
        .into_iter()
        .map(|s| ReportedGuard {
            name: s.name.to_string(),
            kind: s.kind,
            state: s.state,
        })
        .collect()
}

/// One service's guards following a control plane in the same process.
#[derive(Debug)]
pub struct Follower {
    service: String,
    guards: Arc<Guards>,
    seen: u64,
}

impl Follower {
    /// `service`'s `guards`, nothing applied yet.
    pub fn new(service: &str, guards: Arc<Guards>) -> Self {
        Self {
            service: service.to_string(),
            guards,
            seen: 0,
        }
    }

    /// Carries out what changed since the last call and reports the guards' states; when
    /// the plane cannot audit them, they are carried out and reported again next time.
    pub fn sync(&mut self, plane: &ControlPlane) -> Result<(), crate::AuditError> {
        let (version, changed) = plane.directives(&self.service, self.seen);
        for o in apply(&self.guards, &changed) {
            // A release of a guard nobody ever decided on is the default, not news.
            let quiet = o.directive.version == 0
                || (matches!(o.directive.command, GuardCommand::Release { .. })
                    && o.error.is_some());
            if !quiet {
                plane.applied(&o.directive.target, &o.directive.command, o.error)?;
            }
        }
        self.seen = version;
        plane.report(&self.service, &states(&self.guards))
    }
}

/// Keeps `service`'s `guards` following `plane` until `cancel`: at once on every change,
/// and reporting at least every [`REPORT_EVERY`].
pub fn follow(
    plane: Arc<ControlPlane>,
    service: &str,
    guards: Arc<Guards>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let follower = Arc::new(parking_lot::Mutex::new(Follower::new(service, guards)));
    let mut changes = plane.subscribe();
    tokio::spawn(async move {
        loop {
            // Carrying out and reporting may write the audit log, which syncs: off the
            // async workers.
            let (f, p) = (follower.clone(), plane.clone());
            match tokio::task::spawn_blocking(move || f.lock().sync(&p)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "guard states not audited; reporting again")
                }
                Err(e) => {
                    tracing::error!(error = %e, "following the guard control plane failed; retrying")
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = changes.changed() => if r.is_err() { return },
                _ = tokio::time::sleep(REPORT_EVERY) => {}
            }
        }
    })
}
