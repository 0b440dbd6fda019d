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
use tonic::{Request, Response, Status};

use super::Otlp;
use super::PATH;
use crate::errors::IngestError;
use crate::ingest::IngestState;
use crate::receivers::{Endpoints, Listener, Receiver, Shared, Summary};
use crate::tenant::Tenancy;

/// The OTLP/gRPC receiver.
#[derive(Debug, Clone, Copy)]
pub struct OtlpGrpc;

impl Receiver for OtlpGrpc {
    fn name(&self) -> &'static str {
        "otlp_grpc"
    }

    fn summary(&self) -> Summary {
        Summary {
            what: "OTLP/gRPC",
            listener: Listener::OtlpGrpc,
            paths: &[],
        }
    }

    fn endpoints(&self, shared: &Shared) -> Endpoints {
        let otlp = shared.otlp.clone();
        Endpoints::OtlpGrpc(Box::new(move |routes| add_services(otlp, routes)))
    }
}

/// Adds the metrics, trace and logs services to `routes`; requests are limited to
/// `max_body_bytes` (decompressed).
fn add_services(otlp: Otlp, routes: &mut tonic::service::RoutesBuilder) {
    let max = otlp.ingest.max_body_bytes;
    let gzip = tonic::codec::CompressionEncoding::Gzip;
    let metrics = MetricsServiceServer::new(GrpcReceiver { otlp: otlp.clone() })
        .max_decoding_message_size(max)
        .accept_compressed(gzip)
        .send_compressed(gzip);
    let traces = super::grpc_traces::RawTraceService::new(otlp.ingest.clone(), max);
    let logs = LogsServiceServer::new(GrpcReceiver { otlp })
        .max_decoding_message_size(max)
        .accept_compressed(gzip)
        .send_compressed(gzip);
    routes
        .add_service(metrics)
        .add_service(traces)
        .add_service(logs);
}

struct GrpcReceiver {
    otlp: Otlp,
}

/// Counts a refused export and gives its gRPC status.
pub(super) fn refused(state: &IngestState, e: IngestError) -> Status {
    state.refuse(PATH, e).into_grpc()
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let state = &self.otlp.ingest;
        let to = Tenancy::of_grpc(&request).map_err(|e| refused(state, e))?;
        self.otlp
            .store_metrics(&to, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| refused(state, e))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let state = &self.otlp.ingest;
        let to = Tenancy::of_grpc(&request).map_err(|e| refused(state, e))?;
        state
            .store_logs(PATH, &to, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| refused(state, e))
    }
}
