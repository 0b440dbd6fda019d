//! Degrade switches: serve a cheaper, safer answer instead of the full one.

pub mod layer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use taishan_core::GuardCommand;

use crate::kinds::{Guard, GuardKind, GuardState, KindSpec};
use crate::transition::{SharedObserver, Transition};

/// Degrade switches: normal or degraded, switched by `degrade` and `undegrade`.
pub(crate) const KIND: KindSpec = KindSpec {
    kind: GuardKind::Degrade,
    name: "degrade",
    states: &[GuardState::Normal, GuardState::Degraded],
    accepts: |c| matches!(c, GuardCommand::Degrade | GuardCommand::Undegrade),
};

/// A named on/off switch; while on, callers take their fallback path.
#[derive(Debug)]
pub struct DegradeSwitch {
    name: Arc<str>,
    degraded: AtomicBool,
    reason: parking_lot::Mutex<String>,
    observer: SharedObserver,
}

impl DegradeSwitch {
    /// A switch that starts off (full service).
    pub fn new(name: impl Into<Arc<str>>, observer: SharedObserver) -> Self {
        Self {
            name: name.into(),
            degraded: AtomicBool::new(false),
            reason: parking_lot::Mutex::new(String::new()),
            observer,
        }
    }

    /// The switch's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Whether callers should take the fallback.
    #[inline]
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// Why it was last switched.
    pub fn reason(&self) -> String {
        self.reason.lock().clone()
    }

    /// Turns the fallback on or off; returns whether that changed anything.
    pub fn set(&self, degraded: bool, reason: impl Into<String>, now_ms: i64) -> bool {
        let reason = reason.into();
        let mut held = self.reason.lock();
        if self.degraded.swap(degraded, Ordering::AcqRel) == degraded {
            return false;
        }
        *held = reason.clone();
        drop(held);
        let (from, to) = if degraded {
            (GuardState::Normal, GuardState::Degraded)
        } else {
            (GuardState::Degraded, GuardState::Normal)
        };
        self.observer.on_transition(&Transition {
            guard: self.name.clone(),
            kind: GuardKind::Degrade,
            from,
            to,
            reason,
            at_ms: now_ms,
        });
        true
    }
}

impl Guard for DegradeSwitch {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn kind(&self) -> GuardKind {
        GuardKind::Degrade
    }

    fn state(&self) -> GuardState {
        if self.is_degraded() {
            GuardState::Degraded
        } else {
            GuardState::Normal
        }
    }

    fn rejected(&self) -> u64 {
        0
    }

    fn apply(&self, command: &GuardCommand, reason: &str, now_ms: i64) -> bool {
        match command {
            GuardCommand::Degrade => self.set(true, reason, now_ms),
            GuardCommand::Undegrade | GuardCommand::Release { .. } => {
                self.set(false, reason, now_ms)
            }
            _ => false,
        }
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transition::RecordingObserver;

    #[test]
    fn switching_reports_changes_only() {
        let seen = Arc::new(RecordingObserver::default());
        let s = DegradeSwitch::new("risk-model", seen.clone());
        assert!(!s.is_degraded());
        assert!(s.set(true, "bureau breaker open", 1));
        assert!(!s.set(true, "again", 2));
        assert!(s.is_degraded());
        assert_eq!(s.reason(), "bureau breaker open");
        assert!(s.set(false, "operator released", 3));
        assert_eq!(seen.transitions().len(), 2);
    }
}
