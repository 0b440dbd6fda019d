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

use std::sync::Arc;

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
    /// The resource attribute naming a resource's tenant, when configured; it overrides
    /// `X-Scope-OrgID` for that resource.
    pub tenant_attribute: Option<String>,
}

/// Splits an export's resources by tenant: the configured resource attribute when present,
/// else the request's tenant.
fn by_tenant<R>(
    default: &TenantId,
    attribute: Option<&str>,
    items: Vec<R>,
    resource: impl Fn(&R) -> Option<&opentelemetry_proto::tonic::resource::v1::Resource>,
) -> Result<Vec<(TenantId, Vec<R>)>, IngestError> {
    let Some(attribute) = attribute else {
        return Ok(vec![(default.clone(), items)]);
    };
    let mut out: Vec<(TenantId, Vec<R>)> = Vec::new();
    for item in items {
        let named = resource(&item)
            .and_then(|r| r.attributes.iter().find(|a| a.key == attribute))
            .map(|a| metrics::any_to_string(a.value.as_ref()));
        let tenant = match named {
            Some(name) => TenantId::new(&name).map_err(|e| {
                IngestError::BadRequest(format!(
                    "resource attribute {attribute:?} is not a valid tenant: {e}"
                ))
            })?,
            None => default.clone(),
        };
        match out.iter_mut().find(|(t, _)| *t == tenant) {
            Some((_, v)) => v.push(item),
            None => out.push((tenant, vec![item])),
        }
    }
    Ok(out)
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
            tenant_attribute: None,
        }
    }

    /// Takes each resource's tenant from `attribute` when the resource has it.
    pub fn with_tenant_attribute(mut self, attribute: Option<String>) -> Self {
        self.tenant_attribute = attribute;
        self
    }

    /// Stores a decoded logs export.
    pub async fn export_logs(
        &self,
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
            let stored = self.logs.append_logs(batch).await.map_err(refused)?;
            self.ingest.metrics.logs_ingested.inc_by(stored as u64);
        }
        Ok(ExportLogsServiceResponse {
            partial_success: None,
        })
    }

    /// Stores an encoded trace export (refused whole unless it is a well-formed
    /// `ExportTraceServiceRequest`); spans with malformed ids are reported.
    pub async fn export_traces(
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
            let outcome = self.spans.append_spans(batch).await.map_err(refused)?;
            self.ingest
                .metrics
                .spans_ingested
                .inc_by(outcome.accepted as u64);
            rejected += outcome.rejected;
            errors.extend(outcome.errors);
        }
        let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected as i64,
            error_message: errors.join("; "),
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
        req: ExportMetricsServiceRequest,
    ) -> Result<ExportMetricsServiceResponse, IngestError> {
        let attribute = self.tenant_attribute.as_deref();
        let (mut rejected, mut errors) = (0i64, Vec::new());
        for (tenant, resource_metrics) in by_tenant(tenant, attribute, req.resource_metrics, |r| {
            r.resource.as_ref()
        })? {
            let part = ExportMetricsServiceRequest { resource_metrics };
            let converted = self
                .converter
                .convert(&tenant, &part, self.ingest.clock.now_ms());
            self.ingest.metrics.observe_deltas(self.converter.deltas());
            let batch = MetricBatch::new(tenant, converted.series);
            rejected += converted.rejected;
            errors.extend(converted.errors);
            match self.ingest.publish(IngestPath::Otlp, batch).await {
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

/// `google.rpc.Status` with details, for gRPC's `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatusWithDetails {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAny {
    /// The type of `value`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: how long to wait before retrying.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    /// The delay.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}
