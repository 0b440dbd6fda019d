//! State changes of guards, and who hears about them.
//!
//! A guard changes state rarely (a breaker opens, a limiter starts refusing), so each change
//! is worth a log line and a metric; the observer decides where they go. The call path never
//! reaches an observer unless the state actually changes.

use std::fmt;
use std::sync::Arc;

use crate::kinds::GuardKind;
use crate::kinds::GuardState;

/// One state change of one guard, with why it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The guard's name, unique within a service (`bank-a`, `gateway-api-keys`).
    pub guard: Arc<str>,
    /// Its family.
    pub kind: GuardKind,
    /// The state left.
    pub from: GuardState,
    /// The state entered.
    pub to: GuardState,
    /// Why, in words an on-call engineer can act on.
    pub reason: String,
    /// When, in milliseconds since the epoch (from the guard's clock).
    pub at_ms: i64,
}

/// Hears every state change of the guards it is given to.
pub trait TransitionObserver: Send + Sync + fmt::Debug {
    /// Called once per change, after the new state is in effect.
    fn on_transition(&self, transition: &Transition);
}

/// Writes each change as a `tracing` log line; the default observer.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogObserver;

impl TransitionObserver for LogObserver {
    fn on_transition(&self, t: &Transition) {
        tracing::warn!(
            guard = %t.guard,
            kind = %t.kind,
            from = t.from.as_str(),
            to = t.to.as_str(),
            reason = %t.reason,
            "guard state changed"
        );
    }
}

/// Collects changes in memory, for tests and for the latest-changes view.
#[derive(Debug, Default)]
pub struct RecordingObserver {
    seen: parking_lot::Mutex<Vec<Transition>>,
}

impl RecordingObserver {
    /// Every change seen so far, oldest first.
    pub fn transitions(&self) -> Vec<Transition> {
        self.seen.lock().clone()
    }
}

impl TransitionObserver for RecordingObserver {
    fn on_transition(&self, transition: &Transition) {
        self.seen.lock().push(transition.clone());
    }
}

/// The observer handle guards hold.
pub type SharedObserver = Arc<dyn TransitionObserver>;
