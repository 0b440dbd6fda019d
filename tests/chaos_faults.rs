//! Faults through `taishan up`'s chaos API against the demo services: an armed fault reaches
//! its scope and nothing else, is seen in the service's own traces, and reverts when
//! disarmed, on the kill switch (`taishan drill abort`), and by itself when nobody renews
//! its lease.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{client, wait_for, Taishan};

fn start() -> (tempfile::TempDir, Taishan, u16) {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start_demo(&dir.path().join("data"), |base| {
        format!("scrape:\n  self_scrape: false\ndemo:\n  base_port: {base}\n  metrics_interval: 1s\n  traffic:\n    rate: 2\n")
    });
    let base = t.demo_base;
    (dir, t, base)
}

fn arm(t: &Taishan, body: Value) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/api/v1/chaos/faults", t.base))
        .json(&body)
        .send()
        .unwrap()
}

/// `taishan drill SUBCOMMAND --url BASE`: its stdout.
fn drill(t: &Taishan, subcommand: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(["drill", subcommand, "--url", &t.base])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn status(url: &str) -> u16 {
    client().get(url).send().unwrap().status().as_u16()
}

#[test]
fn a_fault_reaches_its_scope_is_traced_and_always_reverts() {
    let (_dir, t, base) = start();
    let payments = format!("http://127.0.0.1:{}/payments", base + 3);
    let references = format!("http://127.0.0.1:{}/references", base + 4);
    assert_eq!(status(&payments), 200);
    // The ledger's answer without a fault (a 400: the query lacks its parameters).
    let ledger_clean = status(&references);

    // An error on the payment service's /payments routes only.
    let armed = arm(
        &t,
        json!({"fault": {"kind": "error", "status": 503, "message": "drill: payment down"},
               "scope": {"service": "payment", "route": "/payments"}, "lease": "60s", "by": "test"}),
    );
    assert_eq!(armed.status(), 201);
    let id = armed.json::<Value>().unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client().get(&payments).send().unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.text().unwrap(), "drill: payment down");
    assert_eq!(
        status(&references),
        ledger_clean,
        "the ledger is out of scope"
    );
    // The failure is the service's own as far as its traces go.
    wait_for(
        "the injected errors in payment's RED series",
        Duration::from_secs(30),
        || {
            let q = r#"sum(traces_span_metrics_calls_total{service_name="payment", span_name="GET /payments", status_code="STATUS_CODE_ERROR"})"#;
            let v: Value = client()
                .get(format!("{}/api/v1/query", t.base))
                .query(&[("query", q)])
                .send()
                .unwrap()
                .json()
                .unwrap();
            v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|x| x.parse::<f64>().ok())
                .filter(|n| *n > 0.0)
        },
    );
    let listed: Value = client()
        .get(format!("{}/api/v1/chaos/faults", t.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["data"]["faults"][0]["by"], "test");
    let r = client()
        .delete(format!("{}/api/v1/chaos/faults/{id}", t.base))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(status(&payments), 200, "disarmed");

    // The kill switch takes back every fault at once, bank channels included.
    let transfer = |channel: &str| {
        client()
            .get(format!(
                "http://127.0.0.1:{}/channels/{channel}/transfers/none",
                base + 8
            ))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let clean_b = transfer("bank-b");
    arm(
        &t,
        json!({"fault": {"kind": "error", "status": 502}, "scope": {"service": "banks", "channel": "bank-a"}, "lease": "60s", "by": "test"}),
    );
    arm(
        &t,
        json!({"fault": {"kind": "latency", "delay": "2s"}, "scope": {"service": "ledger"}, "lease": "60s", "by": "test"}),
    );
    assert_eq!(transfer("bank-a"), 502);
    assert_eq!(transfer("bank-b"), clean_b, "another channel is untouched");
    let listed = drill(&t, "faults");
    assert!(
        listed.contains("service=banks channel=bank-a") && listed.contains("service=ledger"),
        "{listed}"
    );
    assert_eq!(
        drill(&t, "abort").trim(),
        "2 fault(s) disarmed; the services are clean"
    );
    assert_eq!(drill(&t, "faults").trim(), "no fault armed");
    assert_eq!(transfer("bank-a"), clean_b);
    let started = std::time::Instant::now();
    assert_eq!(status(&references), ledger_clean);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no latency left"
    );

    // A lease nobody renews: the fault reverts by itself.
    arm(
        &t,
        json!({"fault": {"kind": "error"}, "scope": {"service": "payment"}, "lease": "2s", "by": "a runner that died"}),
    );
    assert_eq!(status(&payments), 503);
    wait_for("the lease to run out", Duration::from_secs(10), || {
        (status(&payments) == 200).then_some(())
    });

    // Bad requests are refused with the reason.
    let r = arm(
        &t,
        json!({"fault": {"kind": "latency"}, "lease": "10s", "by": "test"}),
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("give delay"));
    let r = arm(
        &t,
        json!({"fault": {"kind": "error"}, "scope": {"percent": 0}, "lease": "10s", "by": "test"}),
    );
    assert!(r.text().unwrap().contains("percent must be above 0"));

    // The drills' own endpoints refuse bad input with the reason too.
    let post = |path: &str, body: &str| {
        let r = client()
            .post(format!("{}{path}", t.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (code, text) = post("/api/v1/chaos/books", r#"{"from_ms": 1}"#);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("to_ms"), "{text}");
    let (code, text) = post("/api/v1/chaos/books", r#"{"from_ms": 5, "to_ms": 1}"#);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("must be before to_ms"), "{text}");
    let (code, text) = post("/api/v1/chaos/reports", r#"{"drill": "x"}"#);
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("not a drill report: missing verdict"),
        "{text}"
    );
    let (code, text) = post(
        "/api/v1/chaos/drills/no-such-drill/run",
        r#"{"by": "test"}"#,
    );
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("no valid drill named"), "{text}");
    let (code, text) = post(
        "/api/v1/chaos/drills/bank-channel-outage/run",
        r#"{"who": "x"}"#,
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("unknown field `who`"), "{text}");
    assert_eq!(
        status(&format!("{}/api/v1/chaos/reports/nope", t.base)),
        404
    );
}
