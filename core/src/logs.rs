//! Log records on their way to storage, in OTLP's own vocabulary (`ResourceLogs`).

use async_trait::async_trait;
pub use opentelemetry_proto::tonic::logs::v1::ResourceLogs;

use crate::bus::AppendError;
use crate::tenant::TenantId;

/// Log records of one tenant, as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBatch {
    /// Owner.
    pub tenant: TenantId,
    /// Records grouped by resource and scope.
    pub resource_logs: Vec<ResourceLogs>,
}

/// Where log records end up: implemented by the log store.
#[async_trait]
pub trait LogSink: Send + Sync + 'static {
    /// Makes the records durable (or refuses the batch whole) before returning; how many.
    async fn append_logs(&self, batch: LogBatch) -> Result<usize, AppendError>;
}
