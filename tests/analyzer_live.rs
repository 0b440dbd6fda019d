//! The analyzer inside `taishan up`: a watch scores what it is given, writes the verdicts as
//! series the query API answers, lists itself in its API, keeps its detectors across a
//! restart; and a watch with a bad query is refused by `taishan check` at its line.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{client, wait_for, Taishan};

const CONFIG: &str = "analyzer:
  interval: 1s
  watch:
    - name: pay
      query: max by (channel) (pay_latency_seconds)
      detector: {type: level, tail: {peaks: 8, horizon: 500}}
";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// Writes the two channels' latencies now: `icbc` jumps to `icbc` seconds, `ccb` wobbles.
fn write(t: &Taishan, i: u64, icbc: f64) {
    let wobble = 0.2 + 0.01 * (i % 7) as f64;
    let at = now_ms();
    let (status, body) = t.remote_write(
        None,
        &[
            (
                vec![("__name__", "pay_latency_seconds"), ("channel", "icbc")],
                vec![(at, icbc)],
            ),
            (
                vec![("__name__", "pay_latency_seconds"), ("channel", "ccb")],
                vec![(at, wobble)],
            ),
        ],
    );
    assert_eq!(status, 204, "{body}");
}

fn value_of(t: &Taishan, q: &str) -> Option<f64> {
    let answer = t.query(None, q, None);
    answer["data"]["result"][0]["value"][1]
        .as_str()?
        .parse()
        .ok()
}

#[test]
fn a_watch_scores_its_series_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Taishan::start(&dir.path().join("data"), CONFIG);
    // Ordinary values long enough for the detectors' warm-up (30 points), then a jump.
    let mut i = 0;
    wait_for("40 points scored", Duration::from_secs(90), || {
        i += 1;
        write(&t, i, 0.2 + 0.01 * (i % 5) as f64);
        std::thread::sleep(Duration::from_millis(250));
        let seen = value_of(
            &t,
            r#"count_over_time(taishan_anomaly_score{watch="pay", channel="icbc"}[5m])"#,
        )?;
        (seen >= 40.0).then_some(())
    });
    for _ in 0..8 {
        i += 1;
        write(&t, i, 3.0);
        std::thread::sleep(Duration::from_millis(250));
    }
    let jump = wait_for("the jump scored", Duration::from_secs(30), || {
        let s = value_of(
            &t,
            r#"max_over_time(taishan_anomaly_score{watch="pay", channel="icbc", metric=""}[1m])"#,
        )?;
        (s > 0.5).then_some(s)
    });
    let calm = value_of(
        &t,
        r#"max_over_time(taishan_anomaly_score{watch="pay", channel="ccb"}[20s])"#,
    )
    .expect("ccb scored");
    assert!(calm < jump, "ccb {calm} vs icbc {jump}");
    let expected = value_of(
        &t,
        r#"taishan_anomaly_expected{watch="pay", channel="ccb"}"#,
    )
    .expect("expected value written");
    assert!((0.15..0.3).contains(&expected), "{expected}");

    let watches: serde_json::Value = client()
        .get(format!("{}/api/v1/analyzer/watches", t.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(watches["data"][0]["name"], "pay");
    assert_eq!(watches["data"][0]["series"], 2);
    let series: serde_json::Value = client()
        .get(format!("{}/api/v1/analyzer/series?watch=pay", t.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        series["data"][0]["labels"]["channel"], "icbc",
        "loudest first: {series}"
    );

    // A seasonal forecast of each series, with its interval.
    let forecast: serde_json::Value = client()
        .get(format!("{}/api/v1/analyzer/forecast", t.base))
        .query(&[
            ("query", "max by (channel) (pay_latency_seconds)"),
            ("horizon", "20s"),
            ("step", "2s"),
            ("history", "2m"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ccb = forecast["data"]
        .as_array()
        .and_then(|d| d.iter().find(|s| s["metric"]["channel"] == "ccb"))
        .unwrap_or_else(|| panic!("{forecast}"));
    let points = ccb["forecast"]
        .as_array()
        .unwrap_or_else(|| panic!("{forecast}"));
    assert_eq!(points.len(), 10);
    let (value, lower, upper) = (
        points[0][1].as_f64().unwrap(),
        points[0][2].as_f64().unwrap(),
        points[0][3].as_f64().unwrap(),
    );
    assert!(
        lower < value && value < upper && (0.1..0.4).contains(&value),
        "{ccb}"
    );
    let refused = client()
        .get(format!("{}/api/v1/analyzer/forecast", t.base))
        .query(&[("query", "pay_latency_seconds"), ("horizon", "soon")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused
        .text()
        .unwrap()
        .contains("horizon: not a positive duration"));

    // A clean stop saves the detectors; the next start resumes both series.
    assert!(t.stop().success());
    assert!(dir.path().join("data/analyzer/state.json").exists());
    let after = t.restart();
    assert!(
        after
            .log()
            .contains("analyzer state resumed resumed=2 set_aside=0"),
        "{}",
        after.log()
    );
}

#[test]
fn a_watch_with_a_bad_query_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taishan.yaml");
    std::fs::write(
        &file,
        "analyzer:\n  watch:\n    - name: pay\n      query: rate(pay_total[5m]\n    - name: pay\n      query: pay_total[5m]\n      detector: {type: prophet}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(["check", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    for expected in [
        "taishan.yaml:4:7: analyzer.watch[0].query: invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis",
        "taishan.yaml:5:7: analyzer.watch[1].name: is used by another watch",
        "taishan.yaml:6:7: analyzer.watch[1].query: must give an instant vector",
        "taishan.yaml:7:7: analyzer.watch[1].detector: type: unknown detector `prophet`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
