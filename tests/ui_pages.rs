//! The dashboards as a person sees them: `taishan up` with the demo, each built-in view
//! opened in headless Chromium (Debian's `chromium`, driven by Playwright for Python from
//! the test venv): every panel shows a value or a chart, no console error, the page redraws
//! by itself. Screenshots of each view, at 1280x800 and at a phone's width, are kept in
//! `$TAISHAN_TEST_ARTIFACTS` (default `taishan-ui-screenshots` in the system's temp dir).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::{client, wait_for, Taishan};

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("TAISHAN_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("taishan-ui-screenshots"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

#[test]
fn every_view_shows_data_and_updates_live_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let base = support::free_port_run(9);
    let config = dir.path().join("ui.yaml");
    let (grpc, http) = (support::free_port(), support::free_port());
    std::fs::write(
        &config,
        format!("server:\n  otlp_grpc_listen: 127.0.0.1:{grpc}\n  otlp_http_listen: 127.0.0.1:{http}\nscrape:\n  self_scrape: false\ndemo:\n  base_port: {base}\n  traffic:\n    rate: 20\n"),
    )
    .unwrap();
    let t = Taishan::start_with_config(&dir.path().join("data"), &config);
    // The demo's first transfers and spans are in, so rates have two points.
    let has = |q: &str| {
        let url = format!("{}/api/v1/query?query={q}", t.base);
        let v: Value = client().get(url).send().unwrap().json().unwrap();
        v["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    };
    wait_for("demo traffic in the store", Duration::from_secs(60), || {
        (has("rate(payment_results_total[1m])>0")
            && has("rate(traces_span_metrics_calls_total[1m])>0"))
        .then_some(())
    });
    let shots = artifacts();
    let out = support::run_test_python(
        "ui/views.py",
        &[
            &t.base,
            shots.to_str().unwrap(),
            "home",
            "business",
            "system",
        ],
    );
    let report: Value = serde_json::from_str(out.trim()).expect("the script's JSON report");
    for view in ["home", "business", "system"] {
        let v = &report[view];
        assert_eq!(v["errors"], Value::Array(vec![]), "{view}: console errors");
        let panels = v["panels"].as_array().expect("panels");
        assert!(panels.len() >= 6, "{view}: {} panels", panels.len());
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
        for size in ["1280", "phone"] {
            let shot = shots.join(format!("{view}-{size}.png"));
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
                "{shot:?}"
            );
        }
    }
}

#[test]
fn an_unknown_dashboard_names_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("data"), "");
    let r = client().get(format!("{}/d/nope", t.base)).send().unwrap();
    assert_eq!(r.status(), 404);
    let body = r.text().unwrap();
    assert!(body.contains("home, business, system"), "{body}");
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
