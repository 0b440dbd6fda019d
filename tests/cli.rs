//! The command line: help text and `taishan check`.

use std::process::Command;

fn taishan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(args)
        .output()
        .expect("run taishan")
}

#[test]
fn help_explains_the_commands_and_defaults() {
    let out = taishan(&["up", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--config",
        "--data-dir",
        "[default: ./data]",
        "--http-listen",
        "Ctrl-C",
    ] {
        assert!(
            text.contains(expected),
            "`up --help` lacks {expected:?}:\n{text}"
        );
    }
    let out = taishan(&["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("check"));
}

#[test]
fn check_prints_every_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "storage:\n  retention: 30m\n  wal:\n    sync: sometimes\nscrape:\n  jobs:\n    - job_name: api\n      targets: [\"api.internal\"]\n",
    )
    .unwrap();
    let out = taishan(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(err.contains(&format!("{file}:4:5: storage.wal.sync: unknown variant `sometimes`, expected `always` or `interval`")), "{err}");
    // The scrape section's own problem is reported in the same run.
    assert!(
        err.contains(&format!(
            "{file}:8:17: scrape.jobs[0].targets[0]: target \"api.internal\" must be host:port"
        )),
        "{err}"
    );
    assert!(err.contains("2 problem(s) found"), "{err}");
    std::fs::write(&path, "scrape:\n  jobs:\n    - job_name: api\n      targets: [\"api.internal\"]\n      interval: 10s\n      timeout: 20s\n").unwrap();
    let out = taishan(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{file}:4:17: scrape.jobs[0].targets[0]: target \"api.internal\" must be host:port"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:6:7: scrape.jobs[0].timeout: must not exceed the interval (10s)"
        )),
        "{err}"
    );
    std::fs::write(&path, "server:\n  http_listen: 127.0.0.1:7070\n").unwrap();
    let out = taishan(&["check", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_config_in_the_repository_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/taishan.example.yaml");
    let out = taishan(&["check", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promql_test_reports_each_file_and_fails_on_a_wrong_case() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.test");
    std::fs::write(
        &good,
        "load 1m\n  requests_total{job=\"api\"} 0+60x10\n\neval instant at 5m rate(requests_total[5m])\n  {job=\"api\"} 1\n\neval range from 0 to 2m step 1m requests_total\n  requests_total{job=\"api\"} 0 60 120\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.test");
    std::fs::write(
        &bad,
        "load 1m\n  up{job=\"api\"} 1\n  latency {{schema:0 sum:1 count:1}}\n\neval instant at 0m up\n  up{job=\"api\"} 2\n\neval instant at 0m latency\n  latency 1\n",
    )
    .unwrap();
    let out = taishan(&["promql-test", good.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("good.test: 2 passed / 0 failed / 0 skipped"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("2 passed, 0 failed, 0 skipped"),
        "{text}"
    );

    let out = taishan(&["promql-test", good.to_str().unwrap(), bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL line 5: up: up{job=\"api\"}: got 1, expected 2"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("2 passed, 1 failed, 1 skipped"),
        "{text}"
    );
    let verbose = taishan(&["promql-test", "-v", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&verbose.stdout);
    assert!(
        text.contains("skip line 8: latency (selects native histogram series latency{})"),
        "{text}"
    );

    let missing = taishan(&["promql-test"]);
    assert!(!missing.status.success(), "files are required");
}

#[test]
fn traffic_explains_itself_and_refuses_bad_settings() {
    let out = taishan(&["traffic", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--gateway",
        "[default: http://127.0.0.1:7100]",
        "--rate",
        "--duration",
        "--no-demo",
    ] {
        assert!(
            text.contains(expected),
            "`traffic --help` lacks {expected:?}:\n{text}"
        );
    }
    let out = taishan(&["traffic", "--rate", "0", "--peak-hour", "30"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--rate: must be in (0, 10000]") && err.contains("--peak-hour"),
        "{err}"
    );
    // Nobody listens there: every request fails, and the command says so.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = taishan(&[
        "traffic",
        "--gateway",
        &format!("http://127.0.0.1:{port}"),
        "--rate",
        "50",
        "--count",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no request succeeded"));
    let out = taishan(&["up", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--no-demo"));
}

#[test]
fn rules_check_reports_every_problem_and_up_refuses_bad_rule_files() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.rules.yaml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n      - alert: B\n        expr: up == 0\n        annotations:\n          summary: '{{ $value | humanise }}'\n",
    )
    .unwrap();
    let actions = dir.path().join("actions.yaml");
    std::fs::write(
        &actions,
        "actions:\n  - alert: Nope\n    do: open_breaker\n    service: payment\n    target: bank-a\n",
    )
    .unwrap();
    let file = rules.display().to_string();
    let out = taishan(&["rules", "check", &file]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{file}:5:9: group \"g\", rule 1, \"A\": could not parse expression"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{file}:9:11: group \"g\", rule 2, \"B\": annotation \"summary\": template: 1:1: function \"humanise\" not defined")), "{err}");
    assert!(err.contains("2 problem(s)"), "{err}");

    // A valid rule file with an action naming an alert it does not have.
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n",
    )
    .unwrap();
    let out = taishan(&["rules", "check", &file, actions.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no alerting rule \"Nope\" among the rule files loaded (alerts: A)"),
        "{err}"
    );

    // `taishan up` with the same files will not start, and says why.
    let config = dir.path().join("taishan.yaml");
    std::fs::write(
        &config,
        format!("rules:\n  files: [{file}, {}]\n", actions.display()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args([
            "up",
            "--no-demo",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no alerting rule \"Nope\"") && err.contains("1 problem(s) in the rule files"),
        "{err}"
    );
}

#[test]
fn alerts_route_shows_where_an_alert_goes_and_refuses_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("am.yml");
    std::fs::write(
        &good,
        "route:\n  receiver: ops\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: db\nreceivers:\n  - name: ops\n  - name: db\n",
    )
    .unwrap();
    let path = good.to_str().unwrap();
    let out = taishan(&[
        "alerts",
        "route",
        "--config",
        path,
        "--labels",
        "team=db,alertname=Full",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.starts_with("receiver: db\n") && text.contains("via route.routes[0] {team=\"db\"}"),
        "{text}"
    );
    let out = taishan(&["alerts", "route", "--config", path, "--labels", "team=web"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("receiver: ops\n"));

    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "route:\n  receiver: nobody\n").unwrap();
    let out = taishan(&[
        "alerts",
        "route",
        "--config",
        bad.to_str().unwrap(),
        "--labels",
        "a=b",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yml:2:3: route.receiver: undefined receiver \"nobody\""),
        "{err}"
    );
}
