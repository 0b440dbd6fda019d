//! The log store behind the async [`taishan_core::LogSink`] the receivers publish to.

use std::sync::Arc;

use async_trait::async_trait;
use taishan_core::{AppendError, LogBatch};

use super::LogStore;
use crate::append_gate::AppendGate;

/// The log store behind an async sink: appends (which fsync) run on blocking threads, at
/// most a bounded number at once (beyond it exports are refused with a retry delay).
#[derive(Debug, Clone)]
pub struct LogSink {
    store: Arc<LogStore>,
    gate: AppendGate,
}

impl LogSink {
    /// A sink writing to `store`.
    pub fn new(store: Arc<LogStore>) -> Self {
        Self {
            store,
            gate: AppendGate::default(),
        }
    }

    /// With an admission gate of its own (limits, retry delay).
    pub fn with_gate(mut self, gate: AppendGate) -> Self {
        self.gate = gate;
        self
    }
}

#[async_trait]
impl taishan_core::LogSink for LogSink {
    async fn append_logs(&self, batch: LogBatch) -> Result<usize, AppendError> {
        let _turn = self.gate.enter()?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.append(&batch.tenant, batch.resource_logs))
            .await
            .map_err(|e| AppendError::Unavailable(format!("log store task failed: {e}")))?
            .map_err(|e| AppendError::Unavailable(e.to_string()))
    }
}
