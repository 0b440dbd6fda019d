//! OTLP receivers (OpenTelemetry protocol 1.x): OTLP/HTTP (`/v1/metrics`, protobuf or JSON,
//! plain or gzip) and OTLP/gRPC, sharing one conversion per signal.
//!
//! The contract (from the OTLP specification): a request that does not decode is refused
//! whole (HTTP 400 with a `google.rpc.Status` body; gRPC `INVALID_ARGUMENT`); a request
//! that decodes is stored as far as it converts, and the points that could not be are
//! reported in `partial_success`; when storage is saturated the answer is HTTP 429 with
//! `Retry-After` or gRPC `RESOURCE_EXHAUSTED`, and nothing of the request is stored.

pub mod grpc;
pub mod http;
pub mod metrics;
pub mod naming;

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use taishan_core::{AppendError, LogBatch, LogSink, MetricBatch, SpanBatch, SpanSink, TenantId};

use crate::http::{IngestError, IngestPath, IngestState};
use metrics::MetricsConverter;

/// What both OTLP transports share.
#[derive(Clone)]
pub struct OtlpState {
    /// Bus, limits, clock and counters of ingest.
    pub ingest: IngestState,
    /// Running totals for delta metrics.
    pub converter: Arc<MetricsConverter>,
    /// Where spans go.
    pub spans: Arc<dyn SpanSink>,
    /// Where log records go.
    pub logs: Arc<dyn LogSink>,
}

fn refused(e: AppendError) -> IngestError {
    match e {
        AppendError::Overloaded { retry_after } => IngestError::Overloaded { retry_after },
        AppendError::Unavailable(why) => IngestError::Unavailable(why),
    }
}

impl OtlpState {
    /// OTLP over the same bus and limits as the other receivers, spans to `spans`, log
    /// records to `logs`.
    pub fn new(ingest: IngestState, spans: Arc<dyn SpanSink>, logs: Arc<dyn LogSink>) -> Self {
        Self {
            ingest,
            converter: Arc::new(MetricsConverter::new()),
            spans,
            logs,
        }
    }

    /// Stores a decoded logs export.
    pub async fn export_logs(
        &self,
        tenant: &TenantId,
        req: ExportLogsServiceRequest,
    ) -> Result<ExportLogsServiceResponse, IngestError> {
        let batch = LogBatch {
            tenant: tenant.clone(),
            resource_logs: req.resource_logs,
        };
        let stored = self.logs.append_logs(batch).await.map_err(refused)?;
        self.ingest.metrics.logs_ingested.inc_by(stored as u64);
        Ok(ExportLogsServiceResponse {
            partial_success: None,
        })
    }

    /// Stores a decoded trace export; spans with malformed ids are reported.
    pub async fn export_traces(
        &self,
        tenant: &TenantId,
        req: ExportTraceServiceRequest,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        let batch = SpanBatch {
            tenant: tenant.clone(),
            resource_spans: req.resource_spans,
        };
        let outcome = self.spans.append_spans(batch).await.map_err(refused)?;
        self.ingest
            .metrics
            .spans_ingested
            .inc_by(outcome.accepted as u64);
        let partial_success = (outcome.rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: outcome.rejected as i64,
            error_message: outcome.errors.join("; "),
        });
        Ok(ExportTraceServiceResponse { partial_success })
    }

    /// Counts a refused export by reason.
    pub fn count_refusal(&self, e: &IngestError) {
        self.ingest
            .metrics
            .requests_refused
            .with_label_values(&[IngestPath::Otlp.as_str(), e.reason()])
            .inc();
    }

    /// Stores a decoded metrics export; the response reports points that could not be
    /// converted.
    pub async fn export_metrics(
        &self,
        tenant: &TenantId,
        req: &ExportMetricsServiceRequest,
    ) -> Result<ExportMetricsServiceResponse, IngestError> {
        let converted = self
            .converter
            .convert(tenant, req, self.ingest.clock.now_ms());
        let batch = MetricBatch::new(tenant.clone(), converted.series);
        let mut rejected = converted.rejected;
        let mut errors = converted.errors;
        match self.ingest.publish(IngestPath::Otlp, batch).await {
            Ok(_) => {}
            // Samples the store refused (out of order, limits) are partial success too.
            Err(IngestError::PartlyRefused(why)) => {
                rejected += 1;
                errors.push(why);
            }
            Err(e) => return Err(e),
        }
        let partial_success = (rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: errors.join("; "),
        });
        Ok(ExportMetricsServiceResponse { partial_success })
    }
}

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub message: String,
}
