//! Differential: the same `alertmanager.yml` and the same alert stream through Debian's
//! Alertmanager 0.25 and through Taishan's alerter produce the same webhook notifications —
//! receivers, group keys, group and common labels, each alert's status, labels, times and
//! fingerprint, in the same order per group. Timing may differ by the stated tolerance:
//! both use group_wait 1s and group_interval 2s, and the test waits for both.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::alertmanager::Alertmanager;
use support::{client, wait_for, which, Taishan, WebhookSink};

fn config(pager: &str, team: &str) -> String {
    format!(
        "global:
  resolve_timeout: 5m
route:
  receiver: team
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: ['severity=\"page\"']
      receiver: pager
      group_by: ['...']
      continue: true
    - matchers: ['service=~\"pay.*\"']
      receiver: team
receivers:
  - name: pager
    webhook_configs:
      - url: {pager}
  - name: team
    webhook_configs:
      - url: {team}
        send_resolved: true
"
    )
}

fn rfc3339_ms(ms: u128) -> String {
    taishan_alerter::timefmt::api_time(ms as i64)
}

fn post(base: &str, alerts: &Value) {
    let r = client()
        .post(format!("{base}/api/v2/alerts"))
        .json(alerts)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{base}: {}", r.status());
}

/// What must agree: everything but the external URL.
fn normalized(n: &Value) -> Value {
    let mut n = n.clone();
    if let Some(o) = n.as_object_mut() {
        o.remove("externalURL");
    }
    n
}

/// Notifications by (receiver, group key), in arrival order.
fn by_group(bodies: &[Value]) -> BTreeMap<(String, String), Vec<Value>> {
    let mut out: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for b in bodies {
        let key = (
            b["receiver"].as_str().unwrap_or("").to_string(),
            b["groupKey"].as_str().unwrap_or("").to_string(),
        );
        out.entry(key).or_default().push(normalized(b));
    }
    out
}

#[test]
fn the_same_stream_gives_the_same_notifications_as_alertmanager() {
    let _ = which("prometheus-alertmanager");
    let (am_pager, am_team) = (WebhookSink::start(), WebhookSink::start());
    let (ts_pager, ts_team) = (WebhookSink::start(), WebhookSink::start());
    let am = Alertmanager::start(&config(&am_pager.url, &am_team.url));
    let dir = tempfile::tempdir().unwrap();
    let ts_config = dir.path().join("alertmanager.yml");
    std::fs::write(&ts_config, config(&ts_pager.url, &ts_team.url)).unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        &format!("alerter:\n  config_file: {}\n", ts_config.display()),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let start = rfc3339_ms(now - 1_500);
    let alert = |name: &str, service: &str, instance: &str, severity: &str| {
        json!({
            "labels": {"alertname": name, "service": service, "instance": instance, "severity": severity},
            "annotations": {"summary": format!("{name} on {instance}")},
            "startsAt": start,
            "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        })
    };
    let first = json!([
        alert("PaymentsFailing", "payment", "p-1", "page"),
        alert("PaymentsFailing", "payment", "p-2", "page"),
        alert("SlowLedger", "ledger", "l-1", "warning"),
        alert("SlowLedger", "ledger", "l-2", "warning"),
    ]);
    for base in [&am.base, &t.alerter] {
        post(base, &first);
    }
    // Two team groups (payment, ledger) and two paging groups, on both sides.
    let round_one = |s: &WebhookSink| s.bodies().len() >= 2;
    wait_for("first notifications", Duration::from_secs(20), || {
        [&am_pager, &am_team, &ts_pager, &ts_team]
            .iter()
            .all(|s| round_one(s))
            .then_some(())
    });
    // Let both finish the first round (groups flushed within group_wait + a margin).
    std::thread::sleep(Duration::from_millis(1500));

    // One payment instance and one ledger instance resolve.
    let end = rfc3339_ms(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    );
    let mut resolved = alert("PaymentsFailing", "payment", "p-1", "page");
    resolved["endsAt"] = json!(end);
    let mut resolved2 = alert("SlowLedger", "ledger", "l-2", "warning");
    resolved2["endsAt"] = json!(end);
    let second = json!([resolved, resolved2]);
    for base in [&am.base, &t.alerter] {
        post(base, &second);
    }
    // Resolved notices go out at the next group_interval (2s); wait for both sides.
    let count = |s: &WebhookSink| s.bodies().len();
    let wanted = |s: &WebhookSink| {
        s.bodies()
            .iter()
            .filter(|b| {
                b["status"] == "resolved"
                    || b["alerts"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["status"] == "resolved"))
            })
            .count()
    };
    wait_for("resolved notices", Duration::from_secs(20), || {
        (wanted(&am_team) >= 2 && wanted(&ts_team) >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(2500));

    let (am_t, ts_t) = (by_group(&am_team.bodies()), by_group(&ts_team.bodies()));
    let (am_p, ts_p) = (by_group(&am_pager.bodies()), by_group(&ts_pager.bodies()));
    assert_eq!(
        am_t.keys().collect::<Vec<_>>(),
        ts_t.keys().collect::<Vec<_>>(),
        "team group keys"
    );
    assert_eq!(
        am_p.keys().collect::<Vec<_>>(),
        ts_p.keys().collect::<Vec<_>>(),
        "pager group keys"
    );
    for (key, am_list) in am_t.iter().chain(am_p.iter()) {
        let ts_list = ts_t.get(key).or_else(|| ts_p.get(key)).unwrap();
        assert_eq!(
            am_list,
            ts_list,
            "notifications of {key:?} differ ({} from Alertmanager, {} from Taishan)",
            am_list.len(),
            ts_list.len()
        );
    }
    assert!(count(&am_team) >= 4, "{:?}", am_team.bodies());
    // `group_by: [...]` makes a group of each paging alert.
    assert_eq!(am_p.len(), 2, "{am_p:?}");
}
