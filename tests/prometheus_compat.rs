//! Against the real Prometheus 2.42 (Debian's package): it scrapes a target and
//! remote-writes into Taishan; every series and sample Prometheus stored must read back
//! from Taishan's API identically.

mod support;

use std::time::Duration;

use support::{matrix, wait_for, Prometheus, Taishan};

/// A target whose exposition changes at every scrape.
fn serve_exposition() -> u16 {
    support::serve_http(|n| {
        let body = format!(
            "# TYPE loans_granted_total counter\n\
             loans_granted_total{{product=\"cash\",channel=\"app\"}} {}\n\
             loans_granted_total{{product=\"auto\",channel=\"branch \\\"east\\\"\"}} {}\n\
             # TYPE money_in_flight gauge\n\
             money_in_flight{{currency=\"CNY\"}} {}\n\
             payment_latency_seconds{{quantile=\"0.99\"}} {}\n\
             payment_backlog +Inf\n",
            n * 3,
            n / 2,
            1_000_000.25 + (n as f64) * 17.5,
            0.1 * (n % 7) as f64,
        );
        ("text/plain; version=0.0.4".to_string(), body)
    })
}

#[test]
fn prometheus_remote_write_lands_sample_for_sample() {
    let dir = tempfile::tempdir().unwrap();
    let taishan = Taishan::start(&dir.path().join("d"), "");
    let target = serve_exposition();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n\
         remote_write:\n  - url: {}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 50\n",
        taishan.base
    );
    let prom = Prometheus::start(&config, &[]);
    // Let Prometheus scrape a few times.
    wait_for("8 scrapes in Prometheus", Duration::from_secs(60), || {
        let now = now_secs();
        let a = prom.query(
            "count_over_time(loans_granted_total{product=\"cash\"}[1h])",
            now,
        );
        let n: f64 = a["data"]["result"][0]["value"][1].as_str()?.parse().ok()?;
        (n >= 8.0).then_some(())
    });
    // Compare a window that remote write has had time to deliver.
    let at = now_secs() - 3.0;
    let selector = "{job=\"demo\"}[2m]";
    let expected = matrix(&prom.query(selector, at));
    assert!(
        expected.len() >= 8,
        "Prometheus holds the 5 scraped series and its own scrape series: {expected:?}"
    );
    assert!(expected.iter().all(|(_, v)| v.len() >= 4), "{expected:?}");
    let got = wait_for(
        "Taishan to hold what Prometheus stored",
        Duration::from_secs(30),
        || {
            let got = matrix(&taishan.query(None, selector, Some(at)));
            (got == expected).then_some(got)
        },
    );
    assert_eq!(got, expected);
    assert!(
        got.iter().any(|(l, _)| l.contains("branch \\\"east\\\"")),
        "escaped label values survive the trip"
    );
    // The series and label APIs agree too.
    let names = support::client()
        .get(format!("{}/api/v1/label/__name__/values", taishan.base))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    for name in [
        "loans_granted_total",
        "money_in_flight",
        "up",
        "scrape_duration_seconds",
    ] {
        assert!(
            names["data"].as_array().unwrap().iter().any(|v| v == name),
            "{name} missing: {names}"
        );
    }
    assert!(
        prom.log().contains("Starting Prometheus"),
        "the peer really ran"
    );
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64
        / 1000.0
}
