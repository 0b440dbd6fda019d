//! The trace store behind the async [`SpanSink`] the receivers publish to.

use std::sync::Arc;

use async_trait::async_trait;
use taishan_core::{AppendError, Clock, SpanBatch, SpanOutcome, SpanSink};

use super::signals::SpanSignals;
use super::TraceStore;
use crate::append_gate::AppendGate;

/// The trace store behind an async sink: appends (which fsync) run on blocking threads, at
/// most a bounded number at once (beyond it exports are refused with a retry delay); stored
/// spans then feed the derived signals.
#[derive(Debug, Clone)]
pub struct TraceSink {
    store: Arc<TraceStore>,
    gate: AppendGate,
    signals: Option<(Arc<SpanSignals>, Arc<dyn Clock>)>,
}

impl TraceSink {
    /// A sink writing to `store`.
    pub fn new(store: Arc<TraceStore>) -> Self {
        Self {
            store,
            gate: AppendGate::default(),
            signals: None,
        }
    }

    /// Also accounts stored spans in `signals`, timed by `clock`.
    pub fn with_signals(mut self, signals: Arc<SpanSignals>, clock: Arc<dyn Clock>) -> Self {
        self.signals = Some((signals, clock));
        self
    }

    /// With an admission gate of its own (limits, retry delay).
    pub fn with_gate(mut self, gate: AppendGate) -> Self {
        self.gate = gate;
        self
    }
}

#[async_trait]
impl SpanSink for TraceSink {
    async fn append_spans(&self, batch: SpanBatch) -> Result<SpanOutcome, AppendError> {
        let _turn = self.gate.enter()?;
        let store = self.store.clone();
        let (report, batch) =
            tokio::task::spawn_blocking(move || store.append(&batch).map(|report| (report, batch)))
                .await
                .map_err(|e| AppendError::Unavailable(format!("trace store task failed: {e}")))?
                .map_err(|e| AppendError::Unavailable(e.to_string()))?;
        if let Some((signals, clock)) = &self.signals {
            signals.observe(&batch, clock.now_ms());
        }
        Ok(SpanOutcome {
            accepted: report.accepted,
            rejected: report.rejected,
            errors: report.errors,
        })
    }
}
