//! The alerter as Prometheus's Alertmanager: Debian's `prometheus` sends its alerts to
//! Taishan's alerter, which groups, routes and notifies a webhook in Alertmanager's JSON;
//! Taishan's own rule engine feeds the same alerter in process.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{client, wait_for, Prometheus, Taishan, WebhookSink};

fn alertmanager_yml(hook: &str) -> String {
    format!(
        "route:
  receiver: fallback
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  routes:
    - matchers: ['severity=\"page\"']
      receiver: oncall
receivers:
  - name: fallback
  - name: oncall
    webhook_configs:
      - url: {hook}
"
    )
}

fn notification_for(sink: &WebhookSink, alertname: &str) -> Value {
    wait_for(
        &format!("a webhook notification of {alertname}"),
        Duration::from_secs(60),
        || {
            sink.bodies()
                .into_iter()
                .find(|b| b["commonLabels"]["alertname"] == alertname)
        },
    )
}

#[test]
fn prometheus_alerts_arrive_group_route_and_notify_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let sink = WebhookSink::start();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(&am_config, alertmanager_yml(&sink.url)).unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        &format!("alerter:\n  config_file: {}\n", am_config.display()),
    );
    let rules = dir.path().join("prom.rules.yml");
    std::fs::write(
        &rules,
        "groups:
  - name: always
    interval: 1s
    rules:
      - alert: PaymentsFailing
        expr: vector(1)
        labels: {severity: page, service: payment}
        annotations: {summary: 'payments fail'}
",
    )
    .unwrap();
    let alerter_host = t.alerter.trim_start_matches("http://").to_string();
    let prom = Prometheus::start(
        &format!(
            "global:\n  evaluation_interval: 1s\nrule_files: [{}]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alerter_host}']\n",
            rules.display()
        ),
        // Its first send can precede the discovery of the alertmanager; resend soon.
        &["--rules.alert.resend-delay=1s"],
    );

    let n = notification_for(&sink, "PaymentsFailing");
    assert_eq!(n["version"], "4", "{n}");
    assert_eq!(n["status"], "firing");
    assert_eq!(n["receiver"], "oncall");
    assert_eq!(
        n["groupKey"],
        "{}/{severity=\"page\"}:{alertname=\"PaymentsFailing\"}"
    );
    assert_eq!(n["groupLabels"]["alertname"], "PaymentsFailing");
    assert_eq!(n["commonAnnotations"]["summary"], "payments fail");
    let alert = &n["alerts"][0];
    assert_eq!(alert["labels"]["service"], "payment");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap_or_default()
            .contains("/graph?g0.expr=vector"),
        "{alert}"
    );

    // The alert is listed by the API with its receiver, and filters apply.
    let listed: Value = client()
        .get(format!("{}/api/v2/alerts", t.alerter))
        .query(&[("filter", "service=\"payment\"")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        listed[0]["labels"]["alertname"], "PaymentsFailing",
        "{listed}"
    );
    assert_eq!(listed[0]["receivers"][0]["name"], "oncall");
    assert_eq!(listed[0]["status"]["state"], "active");
    let none: Value = client()
        .get(format!("{}/api/v2/alerts", t.alerter))
        .query(&[("receiver", "fallback")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(none, Value::Array(vec![]));
    drop(prom);
}

#[test]
fn taishans_own_rules_reach_the_webhook_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let sink = WebhookSink::start();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(&am_config, alertmanager_yml(&sink.url)).unwrap();
    let rules = dir.path().join("own.rules.yml");
    std::fs::write(
        &rules,
        "groups:
  - name: own
    interval: 1s
    rules:
      - alert: LedgerImbalanced
        expr: vector(3)
        labels: {severity: page}
        annotations: {summary: 'imbalance {{ $value }}'}
",
    )
    .unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        &format!(
            "rules:\n  files: [{}]\nalerter:\n  config_file: {}\n",
            rules.display(),
            am_config.display()
        ),
    );
    let n = notification_for(&sink, "LedgerImbalanced");
    assert_eq!(n["receiver"], "oncall", "{n}");
    assert_eq!(n["commonAnnotations"]["summary"], "imbalance 3");
    assert!(
        n["alerts"][0]["generatorURL"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{}/graph?g0.expr=vector%283%29", t.base)),
        "{n}"
    );

    // The delivery attempt is on record, with the peer's status.
    let attempts: Value = client()
        .get(format!("{}/api/taishan/v1/notifications", t.alerter))
        .query(&[("receiver", "oncall")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let first = &attempts["data"]["attempts"][0];
    assert_eq!(first["receiver"], "oncall", "{attempts}");
    assert_eq!(first["integration"], "webhook[0]");
    assert_eq!(first["status"], 200);
    assert!(first["error"].is_null());
    let bad = client()
        .get(format!(
            "{}/api/taishan/v1/notifications?limit=0",
            t.alerter
        ))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[test]
fn malformed_alerts_get_400_with_the_reason_and_good_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "");
    let resp = client()
        .post(format!("{}/api/v2/alerts", t.alerter))
        .header("content-type", "application/json")
        .body(r#"[{"labels": {"alertname": "Good"}}, {"labels": {}}, {"labels": {"alertname": "Bad"}, "startsAt": "soon"}]"#)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    let reason = resp.text().unwrap();
    assert!(
        reason.contains("alert 1: at least one label pair required"),
        "{reason}"
    );
    assert!(
        reason.contains("alert 2: startsAt \\\"soon\\\" is not an RFC 3339 time"),
        "{reason}"
    );
    let listed: Value = client()
        .get(format!("{}/api/v2/alerts", t.alerter))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["labels"]["alertname"], "Good");
    assert_eq!(listed[0]["receivers"][0]["name"], "hold");
    // A body that is not JSON: 415, as Alertmanager answers a Content-Type it does not
    // consume (and what keeps a plain HTML form of another site out).
    let not_json = client()
        .post(format!("{}/api/v2/alerts", t.alerter))
        .body("alerts!")
        .send()
        .unwrap();
    assert_eq!(not_json.status(), 415);
    let said_json = client()
        .post(format!("{}/api/v2/alerts", t.alerter))
        .header("content-type", "application/json")
        .body("alerts!")
        .send()
        .unwrap();
    assert_eq!(said_json.status(), 400);
}
