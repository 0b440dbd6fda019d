//! On-call in `taishan up`: a Taishan rule's alert routed to a team pages whoever is on
//! call at their own webhook; `taishan alerts route --oncall` names them beforehand,
//! `taishan alerts ack` acknowledges from a terminal, `alerts history` tells the story and
//! `alerts replay` shows who a changed config would have paged. Also: a broken on-call file refuses
//! start-up with its file:line.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{client, wait_for, Taishan, WebhookSink};

fn taishan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(args)
        .output()
        .expect("run taishan")
}

fn oncall_yml(hook: &str) -> String {
    format!(
        r#"teams:
  - name: payments
    members:
      - name: alice
        contacts: [{{webhook: {{url: "{hook}"}}}}]
    schedules:
      - name: primary
        time_zone: Asia/Shanghai
        layers:
          - {{start: "2026-01-05 09:00", rotation: 1w, members: [alice]}}
services:
  - team: payments
    matchers: ['service="payment"']
"#
    )
}

const AM: &str = "route:\n  receiver: fallback\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  routes:\n    - matchers: [severity=page]\n      receiver: owner\nreceivers:\n  - name: fallback\n";

#[test]
fn a_rule_alert_pages_the_owning_team_and_is_acknowledged_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let sink = WebhookSink::start();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(&am, AM).unwrap();
    let oncall = dir.path().join("oncall.yml");
    std::fs::write(&oncall, oncall_yml(&sink.url)).unwrap();

    // Before anything runs: who would be paged for a payment page.
    let out = taishan(&[
        "alerts",
        "route",
        "--config",
        am.to_str().unwrap(),
        "--oncall",
        oncall.to_str().unwrap(),
        "--labels",
        "severity=page,service=payment",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("receiver: owner\n"), "{text}");
    assert!(
        text.contains("team payments pages now: alice (schedule primary (layer 1))"),
        "{text}"
    );

    let rules = dir.path().join("own.rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: own\n    interval: 1s\n    rules:\n      - alert: PaymentsFailing\n        expr: vector(1)\n        labels: {severity: page, service: payment}\n",
    )
    .unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        &format!(
            "alerter:\n  config_file: {}\n  oncall_file: {}\nrules:\n  files: [{}]\n",
            am.display(),
            oncall.display(),
            rules.display()
        ),
    );
    let page = wait_for("alice's page", Duration::from_secs(60), || {
        sink.bodies()
            .into_iter()
            .find(|b| b["taishan"]["member"] == "alice")
    });
    assert_eq!(page["receiver"], "owner");
    assert_eq!(page["commonLabels"]["service"], "payment");
    assert!(page["taishan"]["ackURL"]
        .as_str()
        .unwrap()
        .starts_with(&t.alerter));

    let out = taishan(&[
        "alerts",
        "ack",
        "--alerter",
        &t.alerter,
        "--by",
        "alice",
        "--comment",
        "rerouting to bank-b",
        "--filter",
        "service=\"payment\"",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("acknowledged 1 alert(s) by alice"),
        "{text}"
    );
    let incidents: Value = client()
        .get(format!("{}/api/taishan/v1/incidents", t.alerter))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let incident = &incidents["data"]["incidents"][0];
    assert_eq!(
        incident["acknowledged"]["comment"], "rerouting to bank-b",
        "{incidents}"
    );
    assert_eq!(incident["team"], "payments");

    // The history, from the terminal.
    let out = taishan(&[
        "alerts",
        "history",
        "--alerter",
        &t.alerter,
        "--alert",
        "PaymentsFailing",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(kinds, ["acknowledged", "paged", "firing"], "{text}");
    assert!(text.contains("payments  alice"), "{text}");
    assert!(text.contains("comment=rerouting to bank-b"), "{text}");

    // Replay: the same config reaches the same people; one sending pages to ops does not.
    let replay = |config: &std::path::Path| {
        let out = taishan(&[
            "alerts",
            "replay",
            "--alerter",
            &t.alerter,
            "--since",
            "1h",
            "--config",
            config.to_str().unwrap(),
            "--oncall",
            oncall.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let same = replay(&am);
    assert!(
        same.contains(": 1 reach the same receivers and people, 0 differ"),
        "{same}"
    );
    let changed = dir.path().join("changed.yml");
    std::fs::write(
        &changed,
        format!("route:\n  receiver: ops\nreceivers:\n  - name: ops\n    webhook_configs: [{{url: '{}'}}]\n", sink.url),
    )
    .unwrap();
    let differs = replay(&changed);
    assert!(
        differs.contains("PaymentsFailing") && differs.contains("was owner (alice), would be ops"),
        "{differs}"
    );
    assert!(
        differs.contains("0 reach the same receivers and people, 1 differ"),
        "{differs}"
    );

    let out = taishan(&[
        "alerts",
        "ack",
        "--alerter",
        &t.alerter,
        "--by",
        "alice",
        "--incident",
        "0000000000000000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no open incident"));
}

#[test]
fn a_broken_oncall_file_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(&am, AM).unwrap();
    let oncall = dir.path().join("oncall.yml");
    std::fs::write(
        &oncall,
        "teams:\n  - name: payments\n    members:\n      - name: alice\n        contacts: [{webhook: {url: 'http://127.0.0.1:1/'}}]\n    schedules:\n      - name: primary\n        layers:\n          - {start: '2026-01-05 09:00', rotation: 1w, members: [bob]}\n",
    )
    .unwrap();
    let out = taishan(&[
        "alerts",
        "route",
        "--config",
        am.to_str().unwrap(),
        "--oncall",
        oncall.to_str().unwrap(),
        "--labels",
        "severity=page",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("oncall.yml:9:")
            && err.contains(
                "teams[0].schedules[0].layers[0].members[0]: \"bob\" is not a member of the team"
            ),
        "{err}"
    );
    // `owner` needs a services section: without one it is an undefined receiver.
    assert!(err.contains("undefined receiver \"owner\""), "{err}");
}

#[test]
fn routing_cases_run_in_batches_and_a_failing_one_shows_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("am.yml"),
        "route:\n  receiver: fallback\n  routes:\n    - matchers: [severity=page]\n      receiver: payments\ninhibit_rules:\n  - source_matchers: [alertname=BankDown]\n    target_matchers: [alertname=PaymentsFailing]\n    equal: [channel]\nreceivers:\n  - name: fallback\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("oncall.yml"),
        r#"teams:
  - name: payments
    members:
      - {name: alice, contacts: [{webhook: {url: "http://127.0.0.1:1/a"}}]}
      - {name: bob, contacts: [{webhook: {url: "http://127.0.0.1:1/b"}}]}
    schedules:
      - name: primary
        time_zone: Asia/Shanghai
        layers:
          - {start: "2026-11-30 09:00", rotation: 1w, members: [alice, bob]}
        overrides:
          - {member: bob, start: "2026-12-24 18:00", end: "2026-12-26 09:00"}
"#,
    )
    .unwrap();
    let cases = dir.path().join("routing.test.yml");
    std::fs::write(
        &cases,
        r#"config: am.yml
oncall: oncall.yml
tests:
  - name: a page reaches alice in her week
    at: 2026-12-02T10:00:00+08:00
    alerts: [{alertname: PaymentsFailing, severity: page, channel: bank-a}]
    expect:
      - {alert: {alertname: PaymentsFailing}, receivers: [payments], paged: [alice], inhibited: false}
  - name: bob covers Christmas eve
    at: 2026-12-24T20:00:00+08:00
    alerts: [{alertname: PaymentsFailing, severity: page}]
    expect:
      - {alert: {alertname: PaymentsFailing}, paged: [bob]}
  - name: a bank outage inhibits the payment alerts of its channel only
    alerts:
      - {alertname: BankDown, channel: bank-a}
      - {alertname: PaymentsFailing, severity: page, channel: bank-a}
      - {alertname: PaymentsFailing, severity: page, channel: bank-b}
    expect:
      - {alert: {channel: bank-a, alertname: PaymentsFailing}, inhibited: true}
      - {alert: {channel: bank-b}, inhibited: false}
      - {alert: {alertname: BankDown}, receivers: [fallback]}
"#,
    )
    .unwrap();
    let out = taishan(&["alerts", "test", cases.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.ends_with("3 passed, 0 failed\n"), "{text}");

    let wrong = dir.path().join("wrong.test.yml");
    std::fs::write(
        &wrong,
        "config: am.yml\noncall: oncall.yml\ntests:\n  - name: the new hire is on call\n    at: 2026-12-02T10:00:00+08:00\n    alerts: [{alertname: X, severity: page}]\n    expect:\n      - {alert: {alertname: X}, receivers: [payments], paged: [zoe]}\n      - {alert: {alertname: Y}, receivers: [fallback]}\n",
    )
    .unwrap();
    let out = taishan(&["alerts", "test", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL the new hire is on call"), "{text}");
    assert!(
        text.contains(
            "{alertname=\"X\", severity=\"page\"}: paged: want {\"zoe\"}, got {\"alice\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("{alertname=\"Y\"}: no alert of the case has these labels"),
        "{text}"
    );

    let broken = dir.path().join("broken.test.yml");
    std::fs::write(
        &broken,
        "config: am.yml\ntests:\n  - name: x\n    alerts: []\n    expct: []\n",
    )
    .unwrap();
    let out = taishan(&["alerts", "test", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.test.yml:5:5: tests[0].expct: unknown field"),
        "{err}"
    );
}
