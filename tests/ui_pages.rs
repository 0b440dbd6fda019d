//! The UI as a person uses it: `taishan up` with the demo, every page opened in headless
//! Chromium (Debian's `chromium`, driven by Playwright for Python from the test venv).
//! The dashboards (`tests/ui/views.py`): every panel shows a value or a chart, no console
//! error, the page redraws by itself, and the flow view's numbers are PromQL's answers for
//! the same range. The other views (`tests/ui/journeys.py`): the topology's real edges, a
//! trace opened with its waterfall and logs, the logs' live tail, an alert acknowledged and
//! silenced, a breaker opened and released with the audit trail showing who and why, an
//! ad-hoc query. Screenshots of every view, at 1280x800 and at a phone's width, are kept in
//! `$TAISHAN_TEST_ARTIFACTS` (default `taishan-ui-screenshots` in the system's temp dir).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::{client, wait_for, Taishan};

/// Business first: each of its panels must show a value within 30 s of `taishan up`.
const DASHBOARDS: [&str; 4] = ["business", "home", "flow", "system"];
const VIEWS: [&str; 6] = ["topology", "traces", "logs", "alerts", "guards", "explore"];

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("TAISHAN_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("taishan-ui-screenshots"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// `taishan up` with the demo at 20 requests/s; its OTLP/HTTP base URL; and when it was
/// started (Unix ms).
fn demo() -> (tempfile::TempDir, Taishan, String, u128) {
    let dir = tempfile::tempdir().unwrap();
    let started = now_ms();
    let t = Taishan::start_demo(&dir.path().join("data"), |base| {
        format!(
            "scrape:\n  self_scrape: false\ndemo:\n  base_port: {base}\n  traffic:\n    rate: 20\n"
        )
    });
    let otlp_http = t.otlp_http.clone();
    (dir, t, otlp_http, started)
}

/// Waits for the demo's first transfers and spans, so rates have two points.
fn wait_for_traffic(t: &Taishan) {
    wait_for("demo traffic in the store", Duration::from_secs(60), || {
        (has(t, "rate(payment_results_total{status=\"succeeded\"}[1m])>0")
            && has(
                t,
                "rate(traces_span_metrics_calls_total{span_kind=\"SPAN_KIND_SERVER\"}[1m])>0",
            ))
        .then_some(())
    });
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn instant(t: &Taishan, query: &str, time: Option<&str>) -> Value {
    let mut params = vec![("query", query)];
    params.extend(time.map(|at| ("time", at)));
    let url = format!("{}/api/v1/query", t.base);
    let v: Value = client()
        .get(url)
        .query(&params)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["data"]["result"].clone()
}

fn has(t: &Taishan, query: &str) -> bool {
    instant(t, query, None)
        .as_array()
        .is_some_and(|r| !r.is_empty())
}

#[test]
fn every_view_shows_data_updates_live_and_acts_in_chromium() {
    let (_dir, t, otlp_http, started) = demo();
    let shots = artifacts();
    // Business at once: each panel must show a value, a zero rather than "no data", within
    // 30 s of start.
    let out = support::run_test_python(
        "ui/views.py",
        &[&t.base, shots.to_str().unwrap(), "business"],
    );
    let report: Value = serde_json::from_str(out.trim()).expect("the script's JSON report");
    check_dashboard("business", &report["business"]);
    let shown_after = report["business"]["collected_at_ms"].as_u64().unwrap() as u128 - started;
    assert!(
        shown_after < 30_000,
        "every business panel showed a value only {shown_after} ms after start"
    );
    eprintln!("every business panel showed a value {shown_after} ms after start");

    wait_for_traffic(&t);
    // An alert from outside, as Prometheus would send it, for the alerts page to act on.
    let alert = r#"[{"labels":{"alertname":"UiTestAlert","service":"payment","severity":"page"},"annotations":{"summary":"posted by the UI test"}}]"#;
    let posted = client()
        .post(format!("{}/api/v2/alerts", t.alerter))
        .header("content-type", "application/json")
        .body(alert)
        .send()
        .unwrap();
    assert_eq!(posted.status(), 200);
    // A moment behind now: the flow is opened at it half a minute later, when every sample of
    // its range has long arrived, so the page and PromQL see the same data.
    let settled = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 2)
    .to_string();
    let at_end = format!("flow@{settled}");
    let mut args = vec![t.base.as_str(), shots.to_str().unwrap()];
    args.extend(&DASHBOARDS[1..]);
    // Business again, and system with one service chosen: the analyzer's bands by now.
    args.extend(["business", "system?var-service=payment"]);
    args.push(&at_end);
    let out = support::run_test_python("ui/views.py", &args);
    let report: Value = serde_json::from_str(out.trim()).expect("the script's JSON report");
    for view in &DASHBOARDS[1..] {
        check_dashboard(view, &report[view]);
    }
    check_dashboard("system", &report["system?var-service=payment"]);
    check_bands(
        &report["business"],
        &["Loans granted /s against the usual", "Success per channel"],
    );
    check_bands(
        &report["system?var-service=payment"],
        &["Requests /s", "Error ratio", "Latency p99"],
    );
    check_flow_equals_promql(&t, &report[at_end.as_str()], &settled);

    let out = support::run_test_python(
        "ui/journeys.py",
        &[&t.base, shots.to_str().unwrap(), &otlp_http],
    );
    let report: Value = serde_json::from_str(out.trim()).expect("the script's JSON report");
    check_journeys(&report);
    for view in DASHBOARDS.iter().chain(VIEWS.iter()) {
        for size in ["1280", "phone"] {
            let shot = shots.join(format!("{view}-{size}.png"));
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
                "{shot:?}"
            );
        }
    }
    check_csrf(&t);
}

fn check_dashboard(view: &str, v: &Value) {
    assert_eq!(v["errors"], Value::Array(vec![]), "{view}: console errors");
    assert_eq!(v["redrawn"], true, "{view}: no live update");
    let panels = v["panels"].as_array().expect("panels");
    assert!(panels.len() >= 5, "{view}: {} panels", panels.len());
    for p in panels {
        let (title, text) = (&p["title"], p["text"].as_str().unwrap_or_default());
        assert_eq!(p["failed"], false, "{view}/{title}: {text}");
        assert!(!text.contains("loading"), "{view}/{title} never drew");
        assert!(
            !text.contains("no series matched"),
            "{view}/{title} shows no data"
        );
        let kind = p["type"].as_str().unwrap_or_default();
        if kind.contains("timeseries") {
            assert!(p["charts"].as_u64() > Some(0), "{view}/{title}: no chart");
            assert!(
                p["points"].as_u64() > Some(0),
                "{view}/{title}: an empty chart"
            );
        } else {
            assert!(
                text.chars().any(|c| c.is_ascii_digit()),
                "{view}/{title}: {text:?}"
            );
        }
    }
    if view == "home" {
        let alerts = panels
            .iter()
            .find(|p| p["type"].as_str().is_some_and(|k| k.contains("alerts")))
            .expect("home shows what is firing");
        let text = alerts["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("sre: alice") || text.contains("sre: bob"),
            "{text}"
        );
    }
}

/// The charts named draw the analyzer's band (its expected range) behind their lines.
fn check_bands(v: &Value, titles: &[&str]) {
    let bands = v["bands"].as_array().expect("bands");
    for title in titles {
        let band = bands
            .iter()
            .find(|b| b["title"] == *title)
            .unwrap_or_else(|| panic!("{title}: no band in {bands:?}"));
        assert_eq!(band["band"], "shown", "{title}: {band}");
        assert!(band["band_points"].as_u64() > Some(0), "{title}: {band}");
    }
}

/// Every number of the flow opened at a fixed end is PromQL's answer at that time.
fn check_flow_equals_promql(t: &Taishan, v: &Value, end: &str) {
    assert_eq!(v["errors"], Value::Array(vec![]), "flow: console errors");
    assert_eq!(v["end"].as_str(), Some(end), "the page's end is the link's");
    let cells = v["flow"].as_array().expect("flow cells");
    let stages: std::collections::BTreeSet<&str> =
        cells.iter().filter_map(|c| c["stage"].as_str()).collect();
    assert_eq!(stages.len(), 6, "{stages:?}");
    let mut compared = 0;
    for c in cells {
        let query = c["query"].as_str().unwrap();
        let shown: f64 = match c["value"].as_str().unwrap().parse() {
            Ok(v) => v,
            Err(_) => continue, // a field with no answer ("null"), shown as a dash
        };
        let result = instant(t, query, Some(end));
        let answer: f64 = result[0]["value"][1].as_str().unwrap().parse().unwrap();
        assert_eq!(shown, answer, "{} {}: {query}", c["stage"], c["field"]);
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} numbers compared");
    let count = |stage: &str| {
        cells
            .iter()
            .find(|c| c["stage"] == stage && c["field"] == "count")
            .and_then(|c| c["value"].as_str()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(count("Applications") > 0.0 && count("Pay-outs to banks") > 0.0);
}

fn check_journeys(r: &Value) {
    for view in VIEWS {
        // A log line's trace may be asked for before its spans arrive: the browser reports
        // that 404 and the page asks again; nothing else may go wrong.
        let errors: Vec<&Value> = r[view]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !(view == "logs" && is_not_found(e)))
            .collect();
        assert!(errors.is_empty(), "{view}: console errors {errors:?}");
    }
    let edges: Vec<&str> = r["topology"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for edge in [
        "gateway->loan",
        "loan->risk",
        "loan->payment",
        "risk->credit-bureau",
    ] {
        assert!(edges.contains(&edge), "{edge} missing from {edges:?}");
    }
    assert!(
        edges.iter().any(|e| e.starts_with("payment->bank-")),
        "{edges:?}"
    );
    assert_eq!(r["topology"]["redrawn"], true);

    let traces = &r["traces"];
    assert!(traces["listed"].as_u64() > Some(0));
    assert!(traces["spans"].as_u64() >= Some(3), "{traces}");
    let services = traces["services"].to_string();
    assert!(
        services.contains("gateway") && services.contains("risk"),
        "{services}"
    );
    assert!(
        traces["logs"].as_str().unwrap().contains("application"),
        "{traces}"
    );
    assert!(traces["url"].as_str().unwrap().contains("trace="));

    let late = &r["late_trace"];
    assert!(
        late["waiting"]
            .as_str()
            .unwrap()
            .contains("not arrived yet"),
        "{late}"
    );
    assert_eq!(late["exported"], 200, "{late}");
    assert_eq!(late["spans"], 2, "{late}");
    assert!(
        late["errors"].as_array().unwrap().iter().all(is_not_found),
        "{late}"
    );

    let logs = &r["logs"];
    assert!(logs["after"].as_u64() > logs["before"].as_u64(), "{logs}");
    assert!(logs["trace_links"].as_u64() > Some(0));
    assert!(logs["jumped_to"]
        .as_str()
        .unwrap()
        .contains("/ui/traces?trace="));

    let alerts = &r["alerts"];
    assert!(
        alerts["oncall"].as_str().unwrap().contains("sre"),
        "{alerts}"
    );
    let history = alerts["history"].as_str().unwrap();
    assert!(
        history.contains("acknowledged") && history.contains("ui-test"),
        "{history}"
    );
    assert!(alerts["silences"]
        .as_str()
        .unwrap()
        .contains("checked by the UI test"));

    let guards = &r["guards"];
    let decided = guards["decided"].as_str().unwrap();
    assert!(
        decided.contains("payment/bank-c")
            && decided.contains("ui-test")
            && decided.contains("open breaker")
            && decided.contains("checked by the UI test"),
        "{decided}"
    );
    assert!(!guards["after_release"]
        .as_str()
        .unwrap()
        .contains("operator"));

    assert!(r["explore"]["points"].as_u64() > Some(0));
    assert!(r["explore"]["rows"].as_str().unwrap().contains("bank-a"));
}

/// The browser's console line for a response of 404, as asking for a trace not yet stored gets.
fn is_not_found(error: &Value) -> bool {
    error.as_str().is_some_and(|e| e.contains("status of 404"))
}

/// A page of another site cannot change anything; the UI's own requests carry the token.
fn check_csrf(t: &Taishan) {
    let post = |origin: Option<&str>| {
        let mut r = client()
            .post(format!("{}/api/v1/guards/payment/bank-a", t.base))
            .body(r#"{"command": "open_breaker", "reason": "forged", "who": "evil"}"#);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send().unwrap()
    };
    let forged = post(Some("http://evil.example"));
    assert_eq!(forged.status(), 403);
    assert!(forged.text().unwrap().contains("cross-origin"));
    let untokened = post(Some(&t.base));
    assert_eq!(untokened.status(), 403);
    assert!(untokened.text().unwrap().contains("X-CSRF-Token"));
    // The pages' live socket: browsers open WebSockets from any site, so only the pages' own
    // origin may.
    let socket = |origin: &str| {
        client()
            .get(format!("{}/ui/live/home?range=300", t.base))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("origin", origin)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(socket("http://evil.example"), 403);
    assert_eq!(socket(&t.base), 101);
    let audit: Value = client()
        .get(format!("{}/api/v1/guards/audit?guard=bank-a", t.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(!audit.to_string().contains("forged"), "{audit}");
}

#[test]
fn an_unknown_dashboard_or_view_names_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("data"), "");
    let r = client().get(format!("{}/d/nope", t.base)).send().unwrap();
    assert_eq!(r.status(), 404);
    let body = r.text().unwrap();
    assert!(body.contains("home, flow, business, system"), "{body}");
    let r = client().get(format!("{}/ui/nope", t.base)).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("topology, traces, logs"));
    let r = client()
        .get(format!("{}/ui/data/home?range=abc", t.base))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("range=\"abc\""));
    let js = client()
        .get(format!(
            "{}/ui/assets/vendor/uplot/uPlot.iife.min.js",
            t.base
        ))
        .send()
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.text().unwrap().contains("uPlot"));
}
