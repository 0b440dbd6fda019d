//! What one query may spend, and what it has spent so far.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::sync::Arc;
use taishan_core::Clock;

use super::QueryError;

/// Limits every query runs under: the `query:` section of the config.
pub type QueryLimits = crate::config::QueryConfig;

/// The running account of one query: its deadline, the samples it holds, and the
/// annotations (warnings and infos) it has collected.
#[derive(Debug)]
pub struct Budget {
    clock: Arc<dyn Clock>,
    deadline_ms: i64,
    max_samples: usize,
    current: Cell<usize>,
    peak: Cell<usize>,
    total: Cell<u64>,
    annotations: RefCell<Annotations>,
}

impl Budget {
    /// A fresh account under `limits`, the deadline counted from now on `clock`.
    pub fn new(limits: &QueryLimits, clock: Arc<dyn Clock>) -> Self {
        let timeout = i64::try_from(limits.timeout.as_millis()).unwrap_or(i64::MAX);
        let deadline_ms = clock.now_ms().saturating_add(timeout);
        Self {
            clock,
            deadline_ms,
            max_samples: limits.max_samples,
            current: Cell::new(0),
            peak: Cell::new(0),
            total: Cell::new(0),
            annotations: RefCell::new(Annotations::default()),
        }
    }

    /// Fails once the deadline has passed; called between units of work.
    pub fn check_deadline(&self, during: &str) -> Result<(), QueryError> {
        if self.clock.now_ms() >= self.deadline_ms {
            return Err(QueryError::Timeout(format!("query timed out in {during}")));
        }
        Ok(())
    }

    /// Takes `n` more samples into memory, failing past the limit.
    pub fn charge(&self, n: usize) -> Result<(), QueryError> {
        let now = self.current.get().saturating_add(n);
        if now > self.max_samples {
            return Err(QueryError::TooManySamples);
        }
        self.current.set(now);
        if now > self.peak.get() {
            self.peak.set(now);
        }
        Ok(())
    }

    /// Samples held now.
    pub fn current(&self) -> usize {
        self.current.get()
    }

    /// After a step of evaluation: its inputs are gone and `held` (what it had before)
    /// plus its output `kept` remain.
    pub fn settle(&self, held: usize, kept: usize) -> Result<(), QueryError> {
        self.current.set(held);
        self.charge(kept)
    }

    /// Takes `n` samples read from storage into memory.
    pub fn load(&self, n: usize) -> Result<(), QueryError> {
        self.total.set(self.total.get().saturating_add(n as u64));
        self.charge(n)
    }

    /// Gives back `n` samples no longer held.
    pub fn release(&self, n: usize) {
        self.current.set(self.current.get().saturating_sub(n));
    }

    /// The most samples held at once so far.
    pub fn peak_samples(&self) -> usize {
        self.peak.get()
    }

    /// Every sample read from storage, over the whole query.
    pub fn total_samples(&self) -> u64 {
        self.total.get()
    }

    /// Records a warning (deduplicated).
    pub fn warn(&self, message: String) {
        self.annotations.borrow_mut().warnings.insert(message);
    }

    /// Records an info (deduplicated).
    pub fn info(&self, message: String) {
        self.annotations.borrow_mut().infos.insert(message);
    }

    /// The annotations collected.
    pub fn take_annotations(&self) -> Annotations {
        std::mem::take(&mut *self.annotations.borrow_mut())
    }
}

/// Messages a query result carries beside its data, as Prometheus's `warnings` and `infos`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Things that make the result questionable.
    pub warnings: BTreeSet<String>,
    /// Things worth knowing that do not change the result.
    pub infos: BTreeSet<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use taishan_core::ManualClock;

    #[test]
    fn budget_refuses_past_the_sample_limit_and_forgets_released_samples() {
        let limits = QueryLimits {
            max_samples: 10,
            ..QueryLimits::default()
        };
        let b = Budget::new(&limits, Arc::new(ManualClock::at(0)));
        b.charge(8).unwrap();
        assert!(matches!(b.charge(3), Err(QueryError::TooManySamples)));
        b.release(8);
        b.charge(10).unwrap();
        assert_eq!(b.peak_samples(), 10);
    }

    #[test]
    fn deadline_follows_the_injected_clock() {
        let clock = Arc::new(ManualClock::at(1_000));
        let limits = QueryLimits {
            timeout: Duration::from_secs(1),
            ..QueryLimits::default()
        };
        let b = Budget::new(&limits, clock.clone());
        b.check_deadline("test").unwrap();
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            b.check_deadline("test"),
            Err(QueryError::Timeout(_))
        ));
    }
}
