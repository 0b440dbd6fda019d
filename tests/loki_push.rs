//! Loki's push API: a real Loki client from PyPI (python-logging-loki) pushes JSON, and a
//! snappy-compressed protobuf push as Promtail sends it; the lines come back from log
//! search with their service, severity, labels and trace, counted under `path="loki"`;
//! bad pushes are refused whole, naming the stream and entry.

mod support;

use std::process::Command;

use prost::Message;
use serde_json::Value;
use support::{run_test_python, Taishan};
use taishan_collector::receivers::loki::proto::{
    EntryAdapter, LabelPair, PushRequest, StreamAdapter, Timestamp,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn search(t: &Taishan, tenant: &str, query: &str) -> Vec<Value> {
    let v: Value = support::client()
        .get(format!("{}/api/logs/search?{query}", t.base))
        .header("X-Scope-OrgID", tenant)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["lines"].as_array().cloned().unwrap_or_default()
}

fn attribute<'a>(line: &'a Value, key: &str) -> Option<&'a str> {
    line["attributes"].get(key).and_then(Value::as_str)
}

#[test]
fn a_python_loki_client_and_a_protobuf_push_are_stored_and_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "");
    let push_url = format!("{}/loki/api/v1/push", t.base);

    run_test_python("loki/push_logs.py", &[&push_url, "bank-a", TRACE_ID]);

    let lines = search(&t, "bank-a", "service=loan&limit=10");
    let bodies: Vec<&str> = lines
        .iter()
        .map(|l| l["body"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        bodies,
        [
            "drawdown d-3 failed: timeout",
            "bank-b slow to confirm d-2",
            "drawdown d-1 granted"
        ],
        "newest first"
    );
    assert_eq!(lines[0]["severityNumber"], 17);
    assert_eq!(lines[1]["severityText"], "warning");
    assert_eq!(attribute(&lines[1], "logger"), Some("loan.drawdowns"));
    assert_eq!(attribute(&lines[1], "channel"), Some("bank-b"));
    assert_eq!(lines[1]["traceId"], TRACE_ID);
    let by_trace = search(&t, "bank-a", &format!("trace_id={TRACE_ID}"));
    assert_eq!(by_trace.len(), 1);
    assert!(
        search(&t, "default", "service=loan").is_empty(),
        "tenants apart"
    );

    // Protobuf, snappy-compressed, as Promtail pushes.
    let push = PushRequest {
        streams: vec![StreamAdapter {
            labels: r#"{service_name="payment", level="error", channel="bank-c"}"#.into(),
            entries: vec![EntryAdapter {
                timestamp: Some(Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 0,
                }),
                line: "transfer t-9 refused by bank-c".into(),
                structured_metadata: vec![LabelPair {
                    name: "transfer".into(),
                    value: "t-9".into(),
                }],
            }],
            hash: 0,
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&push.encode_to_vec())
        .unwrap();
    let r = support::client()
        .post(&push_url)
        .header("Content-Type", "application/x-protobuf")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let lines = search(
        &t,
        "default",
        "service=payment&start=1699999000&end=1700001000",
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["severityText"], "error");
    assert_eq!(attribute(&lines[0], "transfer"), Some("t-9"));
    assert_eq!(attribute(&lines[0], "channel"), Some("bank-c"));

    // A bad entry refuses the push whole, saying where.
    let bad = r#"{"streams":[{"stream":{"job":"risk"},"values":[["1700000000000000000","ok"],["yesterday","x"]]}]}"#;
    let r = support::client()
        .post(&push_url)
        .header("Content-Type", "application/json")
        .body(bad)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let reason = r.text().unwrap();
    assert!(
        reason.starts_with("streams[0].values[1]: timestamp \"yesterday\""),
        "{reason}"
    );
    assert!(
        search(&t, "default", "service=risk").is_empty(),
        "nothing of it stored"
    );

    let metrics = t.metrics();
    assert!(
        metrics.contains("taishan_log_records_ingested_total{path=\"loki\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "taishan_ingest_requests_refused_total{path=\"loki\",reason=\"bad_request\"} 1"
        ),
        "{metrics}"
    );
}

#[test]
fn receivers_left_out_of_the_config_are_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        "ingest:\n  receivers: [remote_write, otlp_http]\n",
    );
    let status = |path: &str| {
        support::client()
            .post(format!("{}{path}", t.base))
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status("/loki/api/v1/push"), 404);
    assert_eq!(status("/api/v1/logs"), 404);
    assert_ne!(status("/api/v1/write"), 404);

    // An unknown receiver is an error at its line, naming the known ones.
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "ingest:\n  receivers:\n    - loki\n    - syslog\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .arg("check")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:4:")
            && err.contains("ingest.receivers[1]: unknown receiver \"syslog\""),
        "{err}"
    );
    assert!(
        err.contains("remote_write, influx, json_logs, loki, otlp_http, otlp_grpc"),
        "{err}"
    );
}
