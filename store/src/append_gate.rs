//! Bounded admission for stores written on blocking threads: at most `limit` appends in
//! flight; beyond that an export is refused at once with a retry delay, so a flood waits in
//! the clients' queues, not in this process's memory.

use std::sync::Arc;
use std::time::Duration;

use taishan_core::AppendError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Appends in flight by default (each holds one decoded export).
pub const DEFAULT_IN_FLIGHT: usize = 64;

/// The gate.
#[derive(Debug, Clone)]
pub struct AppendGate {
    slots: Arc<Semaphore>,
    retry_after: Duration,
}

impl Default for AppendGate {
    fn default() -> Self {
        Self::new(DEFAULT_IN_FLIGHT, Duration::from_secs(1))
    }
}

impl AppendGate {
    /// At most `limit` appends at once; refusals suggest `retry_after`.
    pub fn new(limit: usize, retry_after: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limit.max(1))),
            retry_after,
        }
    }

    /// A turn, or `Overloaded` when every slot is taken.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, AppendError> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppendError::Overloaded {
                retry_after: self.retry_after,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_until_a_turn_ends() {
        let gate = AppendGate::new(1, Duration::from_secs(3));
        let turn = gate.enter().unwrap();
        assert_eq!(
            gate.enter().unwrap_err(),
            AppendError::Overloaded {
                retry_after: Duration::from_secs(3)
            }
        );
        drop(turn);
        assert!(gate.enter().is_ok());
    }
}
