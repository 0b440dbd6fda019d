//! OTLP/gRPC: the metrics, trace and logs services of the OTLP protocol, on tonic.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use taishan_core::{TenantId, TENANT_HEADER};
use tonic::{Request, Response, Status};

use super::OtlpState;
use crate::http::IngestError;

/// The gRPC services of the OTLP receiver, ready to serve; requests are limited to
/// `max_body_bytes` (decompressed).
pub fn otlp_grpc_services(state: OtlpState) -> tonic::service::Routes {
    let max = state.ingest.max_body_bytes;
    let gzip = tonic::codec::CompressionEncoding::Gzip;
    let metrics = MetricsServiceServer::new(GrpcReceiver {
        state: state.clone(),
    })
    .max_decoding_message_size(max)
    .accept_compressed(gzip)
    .send_compressed(gzip);
    let traces = super::grpc_traces::RawTraceService::new(state.clone(), max);
    let logs = LogsServiceServer::new(GrpcReceiver { state })
        .max_decoding_message_size(max)
        .accept_compressed(gzip)
        .send_compressed(gzip);
    tonic::service::Routes::new(metrics)
        .add_service(traces)
        .add_service(logs)
}

struct GrpcReceiver {
    state: OtlpState,
}

fn tenant_of<T>(req: &Request<T>) -> Result<TenantId, Status> {
    let value = req
        .metadata()
        .get(TENANT_HEADER.to_ascii_lowercase().as_str())
        .map(|v| v.as_bytes());
    TenantId::from_header(value)
        .map_err(|e| Status::invalid_argument(format!("invalid {TENANT_HEADER}: {e}")))
}

/// The gRPC status for an ingest error, as the OTLP specification asks.
pub(super) fn status_of(state: &OtlpState, e: IngestError) -> Status {
    state.count_refusal(&e);
    let message = e.to_string();
    match e {
        IngestError::Overloaded { retry_after } => {
            // RetryInfo in the status details, as the OTLP specification asks.
            let details = super::RpcStatusWithDetails {
                code: tonic::Code::ResourceExhausted as i32,
                message: message.clone(),
                details: vec![super::ProtoAny {
                    type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                    value: prost::Message::encode_to_vec(&super::RetryInfo {
                        retry_delay: Some(super::ProtoDuration {
                            seconds: i64::try_from(retry_after.as_secs().max(1)).unwrap_or(1),
                            nanos: 0,
                        }),
                    }),
                }],
            };
            Status::with_details(
                tonic::Code::ResourceExhausted,
                message,
                prost::Message::encode_to_vec(&details).into(),
            )
        }
        IngestError::Unavailable(_) => Status::unavailable(message),
        _ => Status::invalid_argument(message),
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let tenant = tenant_of(&request)?;
        let req = request.into_inner();
        self.state
            .export_metrics(&tenant, req)
            .await
            .map(Response::new)
            .map_err(|e| status_of(&self.state, e))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let tenant = tenant_of(&request)?;
        self.state
            .export_logs(&tenant, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| status_of(&self.state, e))
    }
}
