//! The official Rust OpenTelemetry SDK (`opentelemetry-otlp`) exports spans to Taishan
//! unchanged, over OTLP/HTTP and OTLP/gRPC.

mod support;

use std::collections::HashMap;

use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::Value;
use support::Taishan;

fn provider(service: &str, exporter: SpanExporter) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        )
        .build()
}

fn trace(t: &Taishan, id: &str) -> Value {
    support::client()
        .get(format!("{}/api/traces/{id}", t.base))
        .header("X-Scope-OrgID", "ledger-team")
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn rust_sdk_exports_over_http_and_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "");

    // OTLP/HTTP with the blocking reqwest client.
    let http = SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", t.otlp_http))
        .with_headers(HashMap::from([(
            "X-Scope-OrgID".to_string(),
            "ledger-team".to_string(),
        )]))
        .build()
        .unwrap();
    let p = provider("ledger", http);
    let tracer = p.tracer("ledger");
    let http_trace = tracer.in_span("post entry", |cx| {
        let mut child = tracer
            .span_builder("write journal")
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new("ledger.book", "main")])
            .start_with_context(&tracer, &cx);
        child.set_status(Status::error("unbalanced"));
        child.end();
        cx.span().span_context().trace_id().to_string()
    });
    p.force_flush().unwrap();
    p.shutdown().unwrap();

    // OTLP/gRPC with tonic, which needs a Tokio runtime around it.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let grpc_trace = {
        let _inside = rt.enter();
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert("x-scope-orgid", "ledger-team".parse().unwrap());
        let grpc = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://{}", t.otlp_grpc))
            .with_metadata(metadata)
            .build()
            .unwrap();
        let p = provider("clearing", grpc);
        let tracer = p.tracer("clearing");
        let id = tracer.in_span("settle batch", |cx| {
            cx.span().span_context().trace_id().to_string()
        });
        p.force_flush().unwrap();
        p.shutdown().unwrap();
        id
    };

    let v = trace(&t, &http_trace);
    let spans: Vec<&Value> = v["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(spans.len(), 2, "{v}");
    let journal = spans.iter().find(|s| s["name"] == "write journal").unwrap();
    assert_eq!(journal["attributes"][0]["key"], "ledger.book");
    let v = trace(&t, &grpc_trace);
    assert_eq!(
        v["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"], "settle batch",
        "{v}"
    );
}
