//! OTLP/gRPC trace export at the protocol level, over a plain HTTP/2 client: the raw
//! gRPC frames, gzip, partial success for spans with malformed ids, and the status codes for
//! undecodable exports, oversized messages and unknown methods; and one running total for a
//! delta series whether its points come by gRPC or OTLP/HTTP.

mod support;

use std::io::Write;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use support::Taishan;

const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct Answer {
    http: u16,
    grpc_status: Option<String>,
    grpc_message: String,
    body: Vec<u8>,
}

/// Sends one gRPC message (`compressed` says whether it is gzip) to `path`.
fn call(t: &Taishan, path: &str, message: &[u8], compressed: bool) -> Answer {
    let client = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut frame = vec![u8::from(compressed)];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    let mut req = client
        .post(format!("http://{}{path}", t.otlp_grpc))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-scope-orgid", "bank-a");
    if compressed {
        req = req.header("grpc-encoding", "gzip");
    }
    let r = req.body(frame).send().unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (grpc_status, grpc_message) = (header("grpc-status"), header("grpc-message"));
    let http = r.status().as_u16();
    Answer {
        http,
        grpc_status,
        grpc_message: grpc_message.unwrap_or_default(),
        body: r.bytes().unwrap().to_vec(),
    }
}

fn span(trace: u8, id: &[u8], name: &str) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: id.to_vec(),
        name: name.into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_050_000_000,
        kind: 2,
        ..Default::default()
    }
}

/// The resource of service `name`.
fn service(name: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(name.into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn export(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(service("ledger")),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// The response message of a successful call (one uncompressed or gzip frame).
fn response(a: &Answer) -> ExportTraceServiceResponse {
    assert_eq!(a.http, 200);
    assert!(a.body.len() >= 5, "a response frame");
    let payload = &a.body[5..];
    if a.body[0] == 1 {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(payload), &mut out).unwrap();
        ExportTraceServiceResponse::decode(out.as_slice()).unwrap()
    } else {
        ExportTraceServiceResponse::decode(payload).unwrap()
    }
}

#[test]
fn grpc_trace_export_statuses_and_partial_success() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "ingest:\n  max_body_size: 64KiB\n");

    // A good export, gzip-compressed, with one span whose id is malformed.
    let body = export(vec![
        span(9, &[1; 8], "post entry"),
        span(9, &[1, 2], "bad"),
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&body).unwrap();
    let a = call(&t, EXPORT, &gz.finish().unwrap(), true);
    assert_eq!(a.grpc_status, None, "{}", a.grpc_message);
    let partial = response(&a).partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("span id 8 bytes"),
        "{}",
        partial.error_message
    );
    let trace = support::client()
        .get(format!("{}/api/traces/{}", t.base, "09".repeat(16)))
        .header("X-Scope-OrgID", "bank-a")
        .send()
        .unwrap();
    assert_eq!(trace.status().as_u16(), 200);
    assert!(trace.text().unwrap().contains("post entry"));

    // Not protobuf of the export's shape: INVALID_ARGUMENT naming the field.
    let mut bad = export(vec![span(9, &[2; 8], "x")]);
    // A second ResourceSpans whose schema URL is one byte that is not UTF-8.
    bad.extend_from_slice(&[0x0a, 0x03, 0x1a, 0x01, 0xff]);
    let a = call(&t, EXPORT, &bad, false);
    assert_eq!(a.grpc_status.as_deref(), Some("3"), "{}", a.grpc_message);
    assert_eq!(
        a.grpc_message,
        "body%20is%20not%20a%20valid%20OTLP%20trace%20export:%20ResourceSpans.schema_url:%20string%20is%20not%20valid%20UTF-8"
    );
    let a = call(&t, EXPORT, b"\x0a\x05ab", false);
    assert_eq!(a.grpc_status.as_deref(), Some("3"), "{}", a.grpc_message);
    // Refused whole: the good span of the bad export was not stored.
    let trace = support::client()
        .get(format!("{}/api/traces/{}", t.base, "09".repeat(16)))
        .header("X-Scope-OrgID", "bank-a")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        trace.contains("post entry") && !trace.contains("\"name\":\"x\""),
        "{trace}"
    );

    // Over the size limit: refused by gRPC before anything is decoded.
    let big = export(vec![span(8, &[3; 8], &"n".repeat(100 * 1024))]);
    let a = call(&t, EXPORT, &big, false);
    assert!(
        matches!(a.grpc_status.as_deref(), Some(s) if s != "0"),
        "oversized export refused"
    );

    // Another method of the service does not exist.
    let a = call(
        &t,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Nope",
        &body,
        false,
    );
    assert_eq!(a.grpc_status.as_deref(), Some("12"));
}

/// An export of one monotonic delta sum, `payments`, of `value` at `at_s` (s).
fn delta_payments(value: f64, start_s: u64, at_s: u64) -> Vec<u8> {
    let point = NumberDataPoint {
        start_time_unix_nano: start_s * 1_000_000_000,
        time_unix_nano: at_s * 1_000_000_000,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    };
    let sum = Sum {
        data_points: vec![point],
        aggregation_temporality: AggregationTemporality::Delta as i32,
        is_monotonic: true,
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(service("payment")),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "payments".into(),
                    data: Some(metric::Data::Sum(sum)),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn a_delta_series_keeps_one_running_total_over_grpc_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let metrics = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    let a = call(&t, metrics, &delta_payments(5.0, now - 20, now - 10), false);
    assert_eq!(a.grpc_status, None, "{}", a.grpc_message);
    let r = support::client()
        .post(format!("{}/v1/metrics", t.otlp_http))
        .header("content-type", "application/x-protobuf")
        .header("x-scope-orgid", "bank-a")
        .body(delta_payments(7.0, now - 10, now))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().unwrap());

    let answer = t.query(Some("bank-a"), "payments_total", Some(now as f64));
    let result = support::result(&answer);
    assert_eq!(result.len(), 1, "{answer}");
    assert_eq!(
        result[0]["value"][1], "12",
        "5 by gRPC then 7 by HTTP add up: {answer}"
    );
}
