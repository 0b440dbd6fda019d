//! A saturated trace store refuses exports the way OTLP asks: HTTP 429 with `Retry-After`,
//! gRPC `RESOURCE_EXHAUSTED` with `RetryInfo`; nothing of the refused export is stored.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use taishan_collector::rpc::{RetryInfo, RpcStatusWithDetails};
use taishan_collector::{ingest_surface, IngestMetrics, IngestState, RECEIVERS};
use taishan_core::{AppendError, AppendOutcome, Bus, LogBatch, LogSink, ManualClock, MetricBatch};
use taishan_store::append_gate::AppendGate;
use taishan_store::traces::TraceSink;
use taishan_store::{TraceStore, TraceStoreOptions};

/// Metrics and logs are not exercised here: they refuse, visibly.
struct Unused;

#[async_trait::async_trait]
impl Bus for Unused {
    async fn publish(&self, _: MetricBatch) -> Result<AppendOutcome, AppendError> {
        Err(AppendError::Unavailable("not under test".into()))
    }
}

#[async_trait::async_trait]
impl LogSink for Unused {
    async fn append_logs(&self, _: LogBatch) -> Result<usize, AppendError> {
        Err(AppendError::Unavailable("not under test".into()))
    }
}

fn export() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "op".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_store_refuses_with_retry_information() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        TraceStore::open(TraceStoreOptions {
            dir: dir.path().to_path_buf(),
            retention: Duration::from_secs(3600),
            retention_bytes: 0,
            segment_bytes: 1 << 20,
        })
        .unwrap(),
    );
    // One slot, taken: every export finds the store saturated.
    let gate = AppendGate::new(1, Duration::from_secs(7));
    let _held = gate.enter().unwrap();
    let sink = TraceSink::new(store.clone()).with_gate(gate);
    let state = IngestState::new(
        Arc::new(Unused),
        Arc::new(sink),
        Arc::new(Unused),
        1 << 20,
        Arc::new(ManualClock::at(0)),
        IngestMetrics::unregistered(),
    );
    let surface = ingest_surface(&state, RECEIVERS);

    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = http.local_addr().unwrap();
    let app = surface.otlp_http;
    tokio::spawn(async move { axum::serve(http, app).await });
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_addr = grpc.local_addr().unwrap();
    let routes = surface.otlp_grpc;
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc))
            .await
    });

    let r = reqwest::Client::new()
        .post(format!("http://{http_addr}/v1/traces"))
        .header("Content-Type", "application/x-protobuf")
        .body(export().encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "7");

    let mut client = TraceServiceClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    let status = client.export(export()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let details = RpcStatusWithDetails::decode(status.details()).unwrap();
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/google.rpc.RetryInfo"
    );
    let retry = RetryInfo::decode(details.details[0].value.as_slice()).unwrap();
    assert_eq!(retry.retry_delay.unwrap().seconds, 7);

    assert_eq!(
        store.trace_count(),
        0,
        "nothing of a refused export is stored"
    );
}
