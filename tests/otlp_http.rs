//! OTLP/HTTP at the protocol level: protobuf and JSON bodies, gzip, partial success for
//! points that cannot be stored, and the error answers the OTLP specification asks for.

mod support;

use std::io::Write;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use support::{result, Taishan};

const T_NS: u64 = 1_700_000_000_000_000_000;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "ledger")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gauge(name: &str, v: f64) -> Metric {
    Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                attributes: vec![kv("book.id", "main")],
                time_unix_nano: T_NS,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

fn post(
    t: &Taishan,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::blocking::Response {
    let mut req = support::client()
        .post(format!("{}/v1/metrics", t.otlp_http))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("Content-Encoding", e);
    }
    req.send().expect("post")
}

fn value(t: &Taishan, q: &str) -> Option<String> {
    let a = t.query(None, q, Some(1_700_000_000.0));
    result(&a)
        .first()
        .and_then(|s| s["value"][1].as_str().map(str::to_string))
}

#[test]
fn otlp_http_encodings_partial_success_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "ingest:\n  max_body_size: 64KiB\n");

    // Protobuf, gzip-compressed.
    let body = request(vec![gauge("ledger.balance.ratio", 0.5)]).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&body).unwrap();
    let r = post(
        &t,
        "application/x-protobuf",
        Some("gzip"),
        gz.finish().unwrap(),
    );
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    let answer = ExportMetricsServiceResponse::decode(r.bytes().unwrap()).unwrap();
    assert_eq!(answer.partial_success, None);
    assert_eq!(
        value(&t, "ledger_balance_ratio{job=\"ledger\", book_id=\"main\"}").as_deref(),
        Some("0.5")
    );

    // JSON (OTLP/JSON encoding), answered in JSON.
    let json = serde_json::json!({"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "ledger"}}]},
        "scopeMetrics": [{"metrics": [{"name": "entries", "unit": "{entry}", "sum": {
            "aggregationTemporality": 2, "isMonotonic": true,
            "dataPoints": [{"timeUnixNano": T_NS.to_string(), "asInt": "42"}]}}]}]}]});
    let r = post(
        &t,
        "application/json",
        None,
        serde_json::to_vec(&json).unwrap(),
    );
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(
        value(&t, "entries_total{job=\"ledger\"}").as_deref(),
        Some("42")
    );

    // A histogram whose bucket counts do not fit its bounds is reported, the rest stored.
    let bad = Metric {
        name: "latency".into(),
        unit: "ms".into(),
        data: Some(metric::Data::Histogram(Histogram {
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            data_points: vec![HistogramDataPoint {
                time_unix_nano: T_NS,
                count: 3,
                bucket_counts: vec![1, 2],
                explicit_bounds: vec![10.0, 20.0],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let r = post(
        &t,
        "application/x-protobuf",
        None,
        request(vec![bad, gauge("fx.rate", 7.25)]).encode_to_vec(),
    );
    assert_eq!(r.status().as_u16(), 200);
    let answer = ExportMetricsServiceResponse::decode(r.bytes().unwrap()).unwrap();
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_data_points, 1);
    assert!(
        partial
            .error_message
            .contains("2 bucket counts for 2 bounds"),
        "{}",
        partial.error_message
    );
    assert_eq!(value(&t, "fx_rate_ratio").as_deref(), Some("7.25"));

    // Not protobuf: 400 with a google.rpc.Status naming the problem.
    let r = post(&t, "application/x-protobuf", None, vec![0xff, 0xff, 0xff]);
    assert_eq!(r.status().as_u16(), 400);
    let text = String::from_utf8_lossy(&r.bytes().unwrap()).into_owned();
    assert!(text.contains("not a valid OTLP protobuf message"), "{text}");
    // Not JSON.
    let r = post(&t, "application/json", None, b"{resourceMetrics".to_vec());
    assert_eq!(r.status().as_u16(), 400);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["code"], 3);
    // Wrong content type, wrong encoding, too large.
    assert_eq!(
        post(&t, "text/plain", None, b"x".to_vec())
            .status()
            .as_u16(),
        415
    );
    assert_eq!(
        post(&t, "application/x-protobuf", Some("br"), body.clone())
            .status()
            .as_u16(),
        415
    );
    assert_eq!(
        post(&t, "application/x-protobuf", None, vec![0; 100 * 1024])
            .status()
            .as_u16(),
        413
    );
    // The same answers on the traces and logs endpoints.
    for path in ["/v1/traces", "/v1/logs"] {
        let send = |ct: &str, body: Vec<u8>| {
            support::client()
                .post(format!("{}{path}", t.otlp_http))
                .header("Content-Type", ct)
                .body(body)
                .send()
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(
            send("application/x-protobuf", vec![0xff, 0xff, 0xff]),
            400,
            "{path}"
        );
        assert_eq!(send("application/json", b"[1,2".to_vec()), 400, "{path}");
        assert_eq!(send("text/plain", b"x".to_vec()), 415, "{path}");
        assert_eq!(
            send("application/x-protobuf", vec![0; 100 * 1024]),
            413,
            "{path}"
        );
        assert_eq!(
            send("application/json", b"{}".to_vec()),
            200,
            "{path}: an empty export is fine"
        );
    }
    // Refusals are counted.
    assert!(
        t.metrics().contains(
            "taishan_ingest_requests_refused_total{path=\"otlp\",reason=\"bad_request\"} 6"
        ),
        "{}",
        t.metrics()
    );
}

#[test]
fn a_resource_attribute_can_name_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        "ingest:\n  otlp_tenant_attribute: tenant.id\n",
    );
    let mut req = request(vec![gauge("rate.a", 1.0)]);
    let mut other = request(vec![gauge("rate.b", 2.0)]).resource_metrics;
    if let Some(r) = other[0].resource.as_mut() {
        r.attributes.push(kv("tenant.id", "bank-x"));
    }
    req.resource_metrics.extend(other);
    let r = post(&t, "application/x-protobuf", None, req.encode_to_vec());
    assert_eq!(r.status().as_u16(), 200);
    let in_tenant = |tenant: Option<&str>, q: &str| {
        !result(&t.query(tenant, q, Some(1_700_000_000.0))).is_empty()
    };
    assert!(in_tenant(Some("bank-x"), "rate_b_ratio"));
    assert!(!in_tenant(Some("bank-x"), "rate_a_ratio"));
    assert!(
        in_tenant(None, "rate_a_ratio"),
        "resources without the attribute keep the request's tenant"
    );
    // A value that is not a valid tenant refuses the request.
    let mut bad = request(vec![gauge("rate.c", 3.0)]);
    if let Some(r) = bad.resource_metrics[0].resource.as_mut() {
        r.attributes.push(kv("tenant.id", "no spaces allowed"));
    }
    assert_eq!(
        post(&t, "application/x-protobuf", None, bad.encode_to_vec())
            .status()
            .as_u16(),
        400
    );
}
