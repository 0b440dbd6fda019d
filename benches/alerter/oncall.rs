//! With the demo running: the time from a Taishan rule's alert firing to the on-call
//! engineer's webhook. Twenty alerting rules (`for: 0s`, evaluated every second) fire two
//! seconds in four, staggered; each firing is an incident whose page reaches the member on
//! call through a team route. Latency = the page's arrival − the alert's `startsAt` (the
//! evaluation that fired it), both on this machine's clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use parking_lot::Mutex;
use serde_json::Value;

use super::measure;

/// Latencies in ms of the first page of each firing.
#[derive(Clone, Default)]
struct Pages(Arc<Mutex<Vec<f64>>>);

async fn receive(State(pages): State<Pages>, body: axum::body::Bytes) {
    let now = SystemTime::now();
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    if v["status"] != "firing" || v["taishan"]["member"].is_null() {
        return;
    }
    for a in v["alerts"].as_array().into_iter().flatten() {
        let started = a["startsAt"]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        if let Some(d) = started.and_then(|s| now.duration_since(s).ok()) {
            pages.0.lock().push(d.as_secs_f64() * 1000.0);
        }
    }
}

fn files(dir: &std::path::Path, hook: &str) -> String {
    let am = dir.join("alertmanager.yml");
    std::fs::write(&am, "route:\n  receiver: fallback\n  routes:\n    - matchers: [alertname=BenchPage]\n      receiver: sre\n      group_by: [alertname, n]\n      group_wait: 0s\n      group_interval: 1s\n      repeat_interval: 1h\nreceivers:\n  - name: fallback\n").expect("am");
    let oncall = dir.join("oncall.yml");
    std::fs::write(
        &oncall,
        format!("teams:\n  - name: sre\n    members:\n      - name: oncall\n        contacts: [{{webhook: {{url: \"{hook}\"}}}}]\n    schedules:\n      - name: primary\n        layers:\n          - {{start: \"2026-01-05 09:00\", rotation: 1w, members: [oncall]}}\n"),
    )
    .expect("oncall");
    let rules = dir.join("bench.rules.yml");
    let mut text = String::from("groups:\n  - name: bench\n    interval: 1s\n    rules:\n");
    for n in 0..20 {
        text.push_str(&format!(
            "      - alert: BenchPage\n        expr: vector(1) and on() (floor(vector(time()) + {n}) % 4 < 2)\n        labels: {{n: \"{n}\"}}\n"
        ));
    }
    std::fs::write(&rules, text).expect("rules");
    format!(
        "alerter:\n  config_file: {}\n  oncall_file: {}\nrules:\n  files: [{}]\n",
        am.display(),
        oncall.display(),
        rules.display()
    )
}

/// Runs the demo with the bench rules for `seconds`; the latencies, sorted (ms).
pub async fn measure(seconds: u64) -> Vec<f64> {
    let pages = Pages::default();
    let app = axum::Router::new()
        .route("/page", axum::routing::post(receive))
        .with_state(pages.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/page", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = files(dir.path(), &hook);
    let path = dir.path().to_path_buf();
    let running =
        tokio::task::spawn_blocking(move || measure::start_taishan_with(&path, &extra, true))
            .await
            .expect("start");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    drop(running);
    let mut out = pages.0.lock().clone();
    out.sort_by(f64::total_cmp);
    out
}
