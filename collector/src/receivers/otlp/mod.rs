//! OTLP receivers (OpenTelemetry protocol 1.x): OTLP/HTTP (`/v1/metrics`, protobuf or JSON,
//! plain or gzip) and OTLP/gRPC, sharing one conversion per signal.
//!
//! The contract (from the OTLP specification): a request that does not decode is refused
//! whole (HTTP 400 with a `google.rpc.Status` body; gRPC `INVALID_ARGUMENT`); a request
//! that decodes is stored as far as it converts, and the points that could not be are
//! reported in `partial_success`; when storage is saturated the answer is HTTP 429 with
//! `Retry-After` or gRPC `RESOURCE_EXHAUSTED`, and nothing of the request is stored.

pub mod delta;
pub mod grpc;
mod grpc_traces;
pub mod http;
pub mod metrics;
pub mod naming;
mod series;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use taishan_core::{LogBatch, MetricBatch, SpanBatch, TenantId};

use crate::errors::IngestError;
use crate::ingest::{by_tenant, IngestPath, IngestState};

/// The ingest path label of OTLP, over HTTP and gRPC alike.
pub const PATH: IngestPath = IngestPath::new("otlp");

impl IngestState {
    /// Stores a decoded logs export, counted under `path` (OTLP, or a receiver that turned
    /// its format into OTLP records).
    pub async fn store_logs(
        &self,
        path: IngestPath,
        tenant: &TenantId,
        req: ExportLogsServiceRequest,
    ) -> Result<ExportLogsServiceResponse, IngestError> {
        let attribute = self.tenant_attribute.as_deref();
        for (tenant, resource_logs) in by_tenant(tenant, attribute, req.resource_logs, |r| {
            r.resource.as_ref()
        })? {
            let batch = LogBatch {
                tenant,
                resource_logs,
            };
            self.append_logs(path, batch).await?;
        }
        Ok(ExportLogsServiceResponse {
            partial_success: None,
        })
    }

    /// Stores an encoded trace export (refused whole unless it is a well-formed
    /// `ExportTraceServiceRequest`); spans with malformed ids are reported.
    pub async fn store_traces(
        &self,
        tenant: &TenantId,
        request: Bytes,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        let batch = SpanBatch::from_request(tenant.clone(), request).map_err(|e| {
            IngestError::BadRequest(format!("body is not a valid OTLP trace export: {e}"))
        })?;
        let batches = match self.tenant_attribute.as_deref() {
            None => vec![batch],
            Some(attribute) => batch
                .split_by_tenant(attribute)
                .map_err(|e| IngestError::BadRequest(e.to_string()))?,
        };
        let (mut rejected, mut errors) = (0usize, Vec::new());
        for batch in batches {
            let outcome = self.append_spans(batch).await?;
            rejected += outcome.rejected;
            errors.extend(outcome.errors);
        }
        let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected as i64,
            error_message: errors.join("; "),
        });
        Ok(ExportTraceServiceResponse { partial_success })
    }

    /// Stores a decoded metrics export; the response reports points that could not be
    /// converted.
    pub async fn store_metrics(
        &self,
        tenant: &TenantId,
        req: ExportMetricsServiceRequest,
    ) -> Result<ExportMetricsServiceResponse, IngestError> {
        let attribute = self.tenant_attribute.as_deref();
        let (mut rejected, mut errors) = (0i64, Vec::new());
        for (tenant, resource_metrics) in by_tenant(tenant, attribute, req.resource_metrics, |r| {
            r.resource.as_ref()
        })? {
            let part = ExportMetricsServiceRequest { resource_metrics };
            let converted = self.converter.convert(&tenant, &part, self.clock.now_ms());
            rejected += converted.rejected;
            errors.extend(converted.errors);
            self.metrics.observe_deltas(self.converter.deltas());
            let batch = MetricBatch::new(tenant, converted.series);
            match self.publish(PATH, batch).await {
                Ok(_) => {}
                // Samples the store refused (out of order, limits) are partial success too.
                Err(IngestError::PartlyRefused(why)) => {
                    rejected += 1;
                    errors.push(why);
                }
                Err(e) => return Err(e),
            }
        }
        let partial_success = (rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: errors.join("; "),
        });
        Ok(ExportMetricsServiceResponse { partial_success })
    }
}
