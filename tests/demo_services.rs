//! `taishan up` with the demo: the services' traces, metrics and logs arrive in Taishan,
//! and after `kill -9` mid-traffic and a restart the ledger still balances and
//! compensation plus reconciliation bring every transfer to a final state.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{client, wait_for, Taishan};

/// The config after the `server` section: channels that lose and repeat callbacks and
/// sometimes hang, so that the crash finds payments in every state.
fn demo_config(base: u16, rate: f64) -> String {
    format!(
        "scrape:
  self_scrape: false
demo:
  base_port: {base}
  traffic:
    rate: {rate}
    daily_amplitude: 0
    customers: 200
    seed: 11
  channels:
    - {{name: bank-a, weight: 2, callback_loss_rate: 0.2, callback_duplicate_rate: 0.2, timeout_rate: 0.02, settle_after: 200ms}}
    - {{name: bank-b, weight: 1, callback_loss_rate: 0.1, failure_rate: 0.05, settle_after: 400ms}}
"
    )
}

fn get(url: &str) -> Value {
    client().get(url).send().unwrap().json().unwrap()
}

#[test]
fn the_demo_is_observed_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut t = Taishan::start_demo(&data, |base| demo_config(base, 40.0));
    let base = t.demo_base;
    let svc = |offset: u16| format!("http://127.0.0.1:{}", base + offset);

    // Traffic flows: drawdowns get paid out through the banks.
    wait_for("payments to be made", Duration::from_secs(60), || {
        let list = get(&format!("{}/payments", svc(3)));
        (list.as_array().map_or(0, Vec::len) >= 20).then_some(())
    });

    // The services' telemetry is in Taishan: a trace crossing gateway → loan → risk, the
    // business metrics, logs tied to traces.
    let trace_id = wait_for("a gateway trace", Duration::from_secs(30), || {
        let found = get(&format!("{}/api/search?service=gateway&limit=20", t.base));
        found["traces"]
            .as_array()?
            .iter()
            .find(|tr| {
                tr["rootTraceName"]
                    .as_str()
                    .unwrap_or("")
                    .contains("applications")
            })
            .and_then(|tr| tr["traceID"].as_str().map(str::to_owned))
    });
    // Each service exports on its own schedule: wait for all three parts of the trace.
    wait_for(
        "the trace to span gateway, loan and risk",
        Duration::from_secs(30),
        || {
            let trace = get(&format!("{}/api/traces/{trace_id}", t.base));
            let services: std::collections::BTreeSet<String> = trace["resourceSpans"]
                .as_array()?
                .iter()
                .flat_map(|rs| {
                    rs["resource"]["attributes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter(|a| a["key"] == "service.name")
                .filter_map(|a| a["value"]["stringValue"].as_str().map(str::to_owned))
                .collect();
            ["gateway", "loan", "risk"]
                .iter()
                .all(|s| services.contains(*s))
                .then_some(())
        },
    );
    wait_for("business metrics", Duration::from_secs(40), || {
        let r = t.query(None, "sum(loan_applications_total)", None);
        r["data"]["result"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|_| ())
    });
    let logs = get(&format!(
        "{}/api/logs/search?trace_id={trace_id}&limit=50",
        t.base
    ));
    assert!(
        logs["lines"].as_array().is_some_and(|l| !l.is_empty()),
        "no log lines for trace {trace_id}: {logs}"
    );

    // Crash mid-traffic, then come back with the traffic off.
    std::thread::sleep(Duration::from_secs(2));
    t.kill9();
    // The same demo ports again, traffic off.
    let quiet = dir.path().join("quiet.yaml");
    let otlp_any = "server:\n  otlp_grpc_listen: 127.0.0.1:0\n  otlp_http_listen: 127.0.0.1:0\n";
    std::fs::write(&quiet, format!("{otlp_any}{}", demo_config(base, 0.0))).unwrap();
    let t = Taishan::start_with_config(&data, &quiet);

    // The crash left work behind (open payments, undelivered postings and notices), so the
    // rest of the test is about recovery, not about a quiet system.
    let left = get(&format!("{}/backlog", svc(7)));
    assert!(
        left["open_payments"].as_i64().unwrap() + left["outbox"].as_i64().unwrap() > 0,
        "the crash should leave transfers in flight: {left}"
    );

    // Compensation finishes every transfer (stuck ones after 15 s), the loan book catches up.
    let backlog = wait_for("compensation to drain", Duration::from_secs(150), || {
        let b = get(&format!("{}/backlog", svc(7)));
        (b["outbox"] == 0 && b["open_payments"] == 0).then_some(b)
    });
    assert_eq!(backlog["dead_letters"], 0, "{backlog}");
    let tb = get(&format!("{}/trial-balance", svc(4)));
    assert_eq!(tb["total"], 0, "the ledger must balance: {tb}");
    assert!(tb["entries"].as_i64().unwrap() > 0);
    let payments = get(&format!("{}/payments", svc(3)));
    let payments = payments.as_array().unwrap();
    assert!(payments
        .iter()
        .all(|p| p["status"] == "succeeded" || p["status"] == "failed"));
    let report: Value = client()
        .post(format!("{}/runs", svc(6)))
        .json(&json!({"from_ms": 0, "to_ms": 4_000_000_000_000i64}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        report["payments"].as_u64().unwrap() as usize,
        payments.len()
    );
    assert_eq!(report["differences"], json!([]), "{report}");
    drop(t);
}
