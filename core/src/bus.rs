//! The seam between receivers and storage.
//!
//! Receivers publish [`MetricBatch`]es to a [`Bus`] and answer their client from its result, so a
//! 2xx means "durable". In one process the [`InProcessBus`] hands batches straight to the storage
//! [`MetricSink`]; a Kafka-backed bus slots in behind the same trait without touching a receiver.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::batch::MetricBatch;

/// Why single samples of an accepted batch were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Older than the newest sample of its series.
    OutOfOrder,
    /// Same timestamp as the newest sample of its series, different value.
    DuplicateTimestamp,
    /// Older than what the head still accepts (already persisted into a block).
    TooOld,
    /// The series would be new and the active-series limit is reached.
    SeriesLimit,
    /// The series would be new and its tenant's active-series limit is reached.
    TenantSeriesLimit,
    /// The series would be new and the head memory limit is reached.
    MemoryLimit,
}

impl RejectReason {
    /// The label value used in metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::DuplicateTimestamp => "duplicate_timestamp",
            RejectReason::TooOld => "too_old",
            RejectReason::SeriesLimit => "series_limit",
            RejectReason::TenantSeriesLimit => "tenant_series_limit",
            RejectReason::MemoryLimit => "memory_limit",
        }
    }

    /// The setting whose limit refused the samples, for the refusal's message.
    pub fn limit(&self) -> Option<&'static str> {
        match self {
            RejectReason::SeriesLimit => Some("storage.limits.max_series"),
            RejectReason::TenantSeriesLimit => Some("storage.limits.max_series_per_tenant"),
            RejectReason::MemoryLimit => Some("storage.limits.max_head_memory"),
            _ => None,
        }
    }
}

/// Samples refused for one reason, with an example to put in the error message.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// How many samples.
    pub samples: usize,
    /// One of them, described for a human (series and timestamp).
    pub example: String,
}

/// What became of a published batch that was not refused whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppendOutcome {
    /// Samples now durable.
    pub accepted: usize,
    /// Samples refused, grouped by reason.
    pub rejected: Vec<Rejection>,
}

impl AppendOutcome {
    /// Samples refused in all.
    pub fn rejected_count(&self) -> usize {
        self.rejected.iter().map(|r| r.samples).sum()
    }
}

/// Why a whole batch was refused; nothing of it was stored.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AppendError {
    /// The write queue is full; the client should retry after the given delay.
    #[error("ingest queue is full; retry after {}s", retry_after.as_secs())]
    Overloaded {
        /// How long to wait before retrying.
        retry_after: Duration,
    },
    /// Storage is shutting down or failed; nothing was written.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Where batches end up: implemented by storage.
#[async_trait]
pub trait MetricSink: Send + Sync + 'static {
    /// Makes the batch durable (or refuses it whole) before returning.
    async fn append(&self, batch: MetricBatch) -> Result<AppendOutcome, AppendError>;
}

/// What receivers publish to.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes a batch; `Ok` means its accepted samples are durable.
    async fn publish(&self, batch: MetricBatch) -> Result<AppendOutcome, AppendError>;
}

/// The single-process bus: batches go straight to the storage sink.
#[derive(Clone)]
pub struct InProcessBus {
    sink: Arc<dyn MetricSink>,
}

impl InProcessBus {
    /// A bus delivering to `sink`.
    pub fn new(sink: Arc<dyn MetricSink>) -> Self {
        Self { sink }
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, batch: MetricBatch) -> Result<AppendOutcome, AppendError> {
        self.sink.append(batch).await
    }
}
