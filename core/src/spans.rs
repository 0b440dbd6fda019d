//! Spans on their way to storage. The span vocabulary is OTLP's own (`ResourceSpans` with
//! their resource and scope), so nothing is lost between an SDK and the trace store.

use async_trait::async_trait;
pub use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::bus::AppendError;
use crate::tenant::TenantId;

/// Spans of one tenant, as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanBatch {
    /// Owner.
    pub tenant: TenantId,
    /// Spans grouped by resource and scope.
    pub resource_spans: Vec<ResourceSpans>,
}

/// What storing a span batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanOutcome {
    /// Spans now durable.
    pub accepted: usize,
    /// Spans refused (malformed ids).
    pub rejected: usize,
    /// Why, for the first few.
    pub errors: Vec<String>,
}

/// Where spans end up: implemented by the trace store (and what derives signals from it).
#[async_trait]
pub trait SpanSink: Send + Sync + 'static {
    /// Makes the spans durable (or refuses the batch whole) before returning.
    async fn append_spans(&self, batch: SpanBatch) -> Result<SpanOutcome, AppendError>;
}
