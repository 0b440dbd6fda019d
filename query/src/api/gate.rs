//! At most `max_concurrency` queries evaluate at once; a bounded number wait their turn and
//! the rest are refused with 503 and `Retry-After`, so a burst of heavy queries queues in
//! bounded memory instead of piling up threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::response::ApiError;

/// How many may wait per evaluation slot.
const QUEUE_PER_SLOT: usize = 4;

/// The admission gate of PromQL queries.
#[derive(Debug, Clone)]
pub struct QueryGate {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// A query's turn; dropping it lets the next one in.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

impl QueryGate {
    /// A gate letting `max_concurrency` queries run.
    pub fn new(max_concurrency: usize) -> Self {
        let n = max_concurrency.max(1);
        Self {
            slots: Arc::new(Semaphore::new(n)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: n * QUEUE_PER_SLOT,
        }
    }

    /// Waits for a turn for at most `timeout`; refuses at once when the queue is full.
    pub async fn enter(&self, timeout: Duration) -> Result<Turn, ApiError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(Turn { _permit: permit });
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::overloaded(
                "too many queries are running or waiting; try again shortly",
                1,
            ));
        }
        let got = tokio::time::timeout(timeout, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match got {
            Ok(Ok(permit)) => Ok(Turn { _permit: permit }),
            Ok(Err(_)) => Err(ApiError::internal("the query gate is closed")),
            Err(_) => Err(ApiError::overloaded(
                "query timed out waiting for a free evaluation slot",
                1,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_the_queue_and_admits_when_a_turn_ends() {
        let gate = QueryGate::new(1);
        let first = gate.enter(Duration::from_secs(1)).await.unwrap();
        // One slot, four places in the queue: fill them with waiters.
        let mut waiters = Vec::new();
        for _ in 0..QUEUE_PER_SLOT {
            let g = gate.clone();
            waiters.push(tokio::spawn(async move {
                g.enter(Duration::from_secs(30)).await.is_ok()
            }));
        }
        while gate.waiting.load(Ordering::Acquire) < QUEUE_PER_SLOT {
            tokio::task::yield_now().await;
        }
        let refused = gate.enter(Duration::from_secs(1)).await.err().unwrap();
        assert_eq!(refused.kind(), "unavailable");
        drop(first);
        for w in waiters {
            assert!(w.await.unwrap());
        }
    }
}
