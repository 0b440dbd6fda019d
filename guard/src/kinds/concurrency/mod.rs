//! A cap on calls in flight, so a slow dependency cannot take every worker with it.

pub mod layer;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use taishan_core::{Clock, GuardCommand};

use crate::kinds::{Guard, GuardKind, GuardState, KindSpec};
use crate::rejection::Rejected;
use crate::transition::{SharedObserver, Transition};

/// Concurrency limits: admitting or saturated; no command but `release` applies.
pub(crate) const KIND: KindSpec = KindSpec {
    kind: GuardKind::Concurrency,
    name: "concurrency",
    states: &[GuardState::Admitting, GuardState::Saturated],
    accepts: |_| false,
};

/// At most `limit` calls at once.
#[derive(Debug)]
pub struct ConcurrencyLimit {
    name: Arc<str>,
    limit: usize,
    in_flight: AtomicUsize,
    saturated: AtomicBool,
    rejected: AtomicU64,
    observer: SharedObserver,
    /// Read only when the state changes, to time the change.
    clock: Arc<dyn Clock>,
}

/// A slot taken; dropping it frees the slot.
#[derive(Debug)]
pub struct ConcurrencyPermit {
    limit: Arc<ConcurrencyLimit>,
}

impl Drop for ConcurrencyPermit {
    fn drop(&mut self) {
        let before = self.limit.in_flight.fetch_sub(1, Ordering::AcqRel);
        // Report recovery once the load has really dropped, not at every freed slot.
        if before <= self.limit.limit / 2 + 1
            && self.limit.saturated.load(Ordering::Relaxed)
            && self.limit.saturated.swap(false, Ordering::AcqRel)
        {
            self.limit.report(
                GuardState::Saturated,
                GuardState::Admitting,
                format!("{} call(s) in flight now", before - 1),
            );
        }
    }
}

impl ConcurrencyLimit {
    /// A limit of `limit` calls (at least 1); `clock` times its state changes.
    pub fn new(
        name: impl Into<Arc<str>>,
        limit: usize,
        observer: SharedObserver,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            name: name.into(),
            limit: limit.max(1),
            in_flight: AtomicUsize::new(0),
            saturated: AtomicBool::new(false),
            rejected: AtomicU64::new(0),
            observer,
            clock,
        }
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Calls refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Takes a slot, or refuses when all are taken.
    pub fn try_acquire(self: &Arc<Self>) -> Result<ConcurrencyPermit, Rejected> {
        let mut current = self.in_flight.load(Ordering::Relaxed);
        loop {
            if current >= self.limit {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                if !self.saturated.swap(true, Ordering::AcqRel) {
                    self.report(
                        GuardState::Admitting,
                        GuardState::Saturated,
                        format!("all {} slots in flight", self.limit),
                    );
                }
                return Err(Rejected::ConcurrencyLimited {
                    guard: self.name.clone(),
                    limit: self.limit,
                });
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(ConcurrencyPermit {
                        limit: self.clone(),
                    })
                }
                Err(seen) => current = seen,
            }
        }
    }

    fn report(&self, from: GuardState, to: GuardState, reason: String) {
        self.observer.on_transition(&Transition {
            guard: self.name.clone(),
            kind: GuardKind::Concurrency,
            from,
            to,
            reason,
            at_ms: self.clock.now_ms(),
        });
    }
}

impl Guard for ConcurrencyLimit {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn kind(&self) -> GuardKind {
        GuardKind::Concurrency
    }

    fn state(&self) -> GuardState {
        if self.in_flight() >= self.limit {
            GuardState::Saturated
        } else {
            GuardState::Admitting
        }
    }

    fn rejected(&self) -> u64 {
        ConcurrencyLimit::rejected(self)
    }

    fn apply(&self, _command: &GuardCommand, _reason: &str, _now_ms: i64) -> bool {
        // Only `release` reaches a concurrency limit, and it holds nothing to release.
        false
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
    fn slots_are_taken_and_given_back() {
        let seen = Arc::new(RecordingObserver::default());
        let clock = Arc::new(taishan_core::ManualClock::at(7));
        let limit = Arc::new(ConcurrencyLimit::new("db", 4, seen.clone(), clock));
        let permits: Vec<_> = (0..4).map(|_| limit.try_acquire().unwrap()).collect();
        assert!(limit.try_acquire().is_err());
        assert_eq!(limit.rejected(), 1);
        drop(permits);
        assert_eq!(limit.in_flight(), 0);
        assert!(limit.try_acquire().is_ok());
        let path: Vec<_> = seen.transitions().iter().map(|t| t.to.as_str()).collect();
        assert_eq!(path, ["saturated", "admitting"]);
        assert!(seen.transitions().iter().all(|t| t.at_ms == 7));
    }
}
