//! The official OpenTelemetry Python SDK exports a three-service call chain over OTLP/HTTP
//! and OTLP/gRPC; it comes back as one trace, findable by search, and survives kill -9.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{run_test_python, Taishan};

fn get(t: &Taishan, path: &str, tenant: &str) -> (u16, Value) {
    let r = support::client()
        .get(format!("{}{path}", t.base))
        .header("X-Scope-OrgID", tenant)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn span_names(trace: &Value) -> Vec<String> {
    let mut names: Vec<String> = trace["resourceSpans"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
        .flat_map(|ss| ss["spans"].as_array().into_iter().flatten())
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn python_sdk_call_chain_is_one_trace() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Taishan::start(
        &dir.path().join("d"),
        "traces:\n  signals_interval: 1s\n  pair_wait: 1s\n",
    );
    let grpc = format!("http://{}", t.otlp_grpc);
    let out = run_test_python("otel/export_traces.py", &[&t.otlp_http, &grpc, "bank-a"]);
    let trace_id = out.trim().to_string();
    assert_eq!(trace_id.len(), 32);

    let (status, trace) = get(&t, &format!("/api/traces/{trace_id}"), "bank-a");
    assert_eq!(status, 200, "{trace}");
    let expected = [
        "POST /loans",
        "bank transfer",
        "call loan",
        "call payment",
        "disburse",
        "grant",
    ];
    assert_eq!(span_names(&trace), expected);
    assert_eq!(
        trace["resourceSpans"].as_array().unwrap().len(),
        3,
        "one resource per service"
    );

    // Search: by service, by error, by attribute; services and operations.
    let (_, found) = get(
        &t,
        "/api/search?service=payment&tags=status%3Derror",
        "bank-a",
    );
    let traces = found["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 1, "{found}");
    assert_eq!(traces[0]["traceID"], trace_id.as_str());
    assert_eq!(traces[0]["rootServiceName"], "gateway");
    assert_eq!(traces[0]["rootTraceName"], "POST /loans");
    assert_eq!(traces[0]["spanCount"], 6);
    let (_, found) = get(&t, "/api/search?tags=http.route%3D%2Floans", "bank-a");
    assert_eq!(found["traces"].as_array().unwrap().len(), 1, "{found}");
    let (_, found) = get(&t, "/api/search?tags=http.route%3D%2Fother", "bank-a");
    assert!(found["traces"].as_array().unwrap().is_empty());
    let (_, services) = get(&t, "/api/services", "bank-a");
    assert_eq!(
        services["data"],
        serde_json::json!(["gateway", "loan", "payment"])
    );
    let (_, ops) = get(&t, "/api/services/loan/operations", "bank-a");
    assert_eq!(ops["data"], serde_json::json!(["call payment", "grant"]));

    // The service graph, derived from the spans, includes the uninstrumented bank channel.
    let topology = support::wait_for(
        "the service graph",
        std::time::Duration::from_secs(30),
        || {
            let (_, v) = get(&t, "/api/topology", "bank-a");
            (v["edges"].as_array().map_or(0, Vec::len) == 3).then_some(v)
        },
    );
    let edge = |c: &str, s: &str| {
        topology["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["client"] == c && e["server"] == s)
            .cloned()
            .unwrap_or_else(|| panic!("no edge {c} -> {s} in {topology}"))
    };
    assert_eq!(edge("gateway", "loan")["requests"], 1.0);
    assert_eq!(edge("loan", "payment")["failed"], 0.0);
    assert_eq!(edge("payment", "bank-a")["failed"], 1.0);
    assert_eq!(
        topology["nodes"],
        serde_json::json!(["bank-a", "gateway", "loan", "payment"])
    );
    // RED series per service and operation, queryable with PromQL.
    let red = t.query(
        Some("bank-a"),
        "sum by (service_name) (traces_span_metrics_calls_total)",
        None,
    );
    assert_eq!(support::result(&red).len(), 3, "{red}");
    let (_, other) = get(&t, "/api/topology", "bank-b");
    assert!(
        other["edges"].as_array().unwrap().is_empty(),
        "topology never crosses tenants"
    );

    // Their logs, exported with the trace context (over gRPC and HTTP), are found by the
    // trace id; and lines link back to their spans.
    let (_, logs) = get(
        &t,
        &format!("/api/logs/search?trace_id={trace_id}"),
        "bank-a",
    );
    let lines = logs["lines"].as_array().unwrap();
    let bodies: Vec<&str> = lines.iter().map(|l| l["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["bank timeout after 30s", "loan granted"], "{logs}");
    assert_eq!(lines[0]["service"], "payment");
    assert_eq!(lines[0]["severityText"], "ERROR");
    assert_eq!(lines[0]["traceId"], trace_id.as_str());
    assert_eq!(lines[1]["attributes"]["loan.id"], "L-1");
    let (_, errors) = get(&t, "/api/logs/search?severity=error&q=timeout", "bank-a");
    assert_eq!(errors["lines"].as_array().unwrap().len(), 1);

    // The same from the terminal.
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
            .args(args)
            .args(["--url", &t.base, "--tenant", "bank-a"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let found = cli(&[
        "traces",
        "search",
        "--service",
        "payment",
        "--tag",
        "status=error",
    ]);
    assert!(
        found.contains(&trace_id) && found.contains("gateway: POST /loans"),
        "{found}"
    );
    let tree = cli(&["traces", "get", &trace_id]);
    assert!(tree.starts_with("gateway: POST /loans"), "{tree}");
    assert!(
        tree.contains("\n          payment: bank transfer"),
        "{tree}"
    );
    assert!(tree.contains("ERROR"), "{tree}");
    let lines = cli(&[
        "logs",
        "search",
        "--trace-id",
        &trace_id,
        "--severity",
        "error",
    ]);
    assert!(
        lines.contains("ERROR payment: bank timeout after 30s"),
        "{lines}"
    );

    // Apps without an SDK send JSON lines.
    let r = support::client()
        .post(format!("{}/api/v1/logs", t.base))
        .header("X-Scope-OrgID", "bank-a")
        .body("{\"level\":\"warn\",\"msg\":\"risk score slow\",\"service\":\"risk\",\"customer\":\"c-9\"}\n")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (_, risk) = get(
        &t,
        "/api/logs/search?service=risk&attr=customer%3Dc-9",
        "bank-a",
    );
    assert_eq!(risk["lines"][0]["body"], "risk score slow", "{risk}");
    let r = support::client()
        .post(format!("{}/api/v1/logs", t.base))
        .body("{\"msg\":\"ok\"}\nnot json\n")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().unwrap().contains("line 2"));

    // Other tenants see nothing; bad ids are refused.
    assert_eq!(get(&t, &format!("/api/traces/{trace_id}"), "bank-b").0, 404);
    assert_eq!(get(&t, "/api/traces/xyz", "bank-a").0, 400);

    // Every acknowledged span survives kill -9.
    let t2 = t.restart();
    let (status, again) = get(&t2, &format!("/api/traces/{trace_id}"), "bank-a");
    assert_eq!(status, 200);
    assert_eq!(span_names(&again), expected);
    let (_, logs) = get(
        &t2,
        &format!("/api/logs/search?trace_id={trace_id}"),
        "bank-a",
    );
    assert_eq!(
        logs["lines"].as_array().unwrap().len(),
        2,
        "acknowledged logs survive kill -9"
    );
}
