//! Taishan's own scraper: text and OpenMetrics targets, target labels, `up` and the scrape
//! series, a target that is down, and staleness when a series disappears.

mod support;

use std::time::Duration;

use support::{result, serve_http, wait_for, Taishan};

fn value(ts: &Taishan, q: &str) -> Option<String> {
    let a = ts.query(None, q, None);
    result(&a)
        .first()
        .and_then(|s| s["value"][1].as_str().map(String::from))
}

#[test]
fn scrapes_text_and_openmetrics_targets_with_their_labels() {
    let text = serve_http(|n| {
        let flaky = if n < 2 { "flaky_gauge 1\n" } else { "" };
        (
            "text/plain; version=0.0.4".into(),
            format!("# HELP loans_granted_total Loans granted.\n# TYPE loans_granted_total counter\nloans_granted_total{{job=\"lender\"}} {n}\n{flaky}"),
        )
    });
    let om = serve_http(|_| {
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8".into(),
            "# TYPE ledger_entries counter\nledger_entries_total 42 1700000000.250 # {trace_id=\"abc\"} 1\n# EOF\n".into(),
        )
    });
    let down = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "  interval: 1s\n  timeout: 1s\n  jobs:\n\
         \x20   - job_name: app\n      targets: [\"127.0.0.1:{text}\"]\n      labels: {{env: test}}\n\
         \x20   - job_name: ledger\n      targets: [\"127.0.0.1:{om}\"]\n\
         \x20   - job_name: gone\n      targets: [\"127.0.0.1:{down}\"]\n      timeout: 500ms\n"
    );
    // The helper writes `scrape:\n  self_scrape: false\n` first; the rest continues that section.
    let ts = Taishan::start(&dir.path().join("d"), &config);

    let instance = format!("127.0.0.1:{text}");
    let q = format!("loans_granted_total{{job=\"app\",instance=\"{instance}\",env=\"test\",exported_job=\"lender\"}}");
    wait_for(
        "the text target to be scraped",
        Duration::from_secs(30),
        || value(&ts, &q),
    );
    assert_eq!(value(&ts, "up{job=\"app\"}").as_deref(), Some("1"));
    assert!(value(&ts, "scrape_duration_seconds{job=\"app\"}").is_some());
    assert!(value(&ts, "scrape_samples_scraped{job=\"app\"}").is_some());

    // OpenMetrics: the exposed timestamp (seconds) is kept, the exemplar ignored.
    let at = 1_700_000_000.25;
    let a = wait_for("the OpenMetrics target", Duration::from_secs(30), || {
        let a = ts.query(None, "ledger_entries_total", Some(at));
        (!result(&a).is_empty()).then_some(a)
    });
    assert_eq!(result(&a)[0]["value"], serde_json::json!([at, "42"]));

    // Nothing listens on the third target.
    let up = wait_for("up for the down target", Duration::from_secs(30), || {
        value(&ts, "up{job=\"gone\"}")
    });
    assert_eq!(up, "0");

    // flaky_gauge vanished after two scrapes: a staleness marker hides it at once, although
    // its last sample is well inside the 5-minute lookback.
    wait_for("flaky_gauge to go stale", Duration::from_secs(30), || {
        let a = ts.query(None, "flaky_gauge", None);
        result(&a).is_empty().then_some(())
    });
    let a = ts.query(None, "flaky_gauge[1m]", None);
    assert_eq!(result(&a).len(), 1, "its real samples are still there: {a}");

    // The exposed metadata is served as Prometheus's /api/v1/metadata.
    let meta: serde_json::Value = support::client()
        .get(format!("{}/api/v1/metadata", ts.base))
        .query(&[("metric", "loans_granted_total")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        meta["data"]["loans_granted_total"],
        serde_json::json!([{"type": "counter", "help": "Loans granted.", "unit": ""}]),
        "{meta}"
    );
}
