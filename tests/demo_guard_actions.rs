//! A rule acting on the demo's guards, end to end through `taishan up`: a bank channel made
//! to fail through its own failure settings (it accepts transfers, then fails them, so the
//! payment service's own breaker sees nothing wrong) makes the rule fire; the breaker opens
//! at the very evaluation the alert fires (with `for`), payments move to the other channel,
//! the audit log says which rule, which value and when; once the channel recovers the rule
//! lets go and the breaker closes through half-open probes.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::{client, wait_for, Taishan};

const RULES: &str = r#"groups:
  - name: payments-fast
    rules:
      - alert: BankChannelFailing
        expr: |
          sum by (channel) (rate(payment_results_total{status="failed"}[10s]))
          / sum by (channel) (rate(payment_results_total{status=~"succeeded|failed"}[10s])) > 0.5
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.channel }} fails {{ $value | humanizePercentage }} of payments"
"#;

const ACTIONS: &str = r#"actions:
  - alert: BankChannelFailing
    do: open_breaker
    service: payment
    target: "{{ $labels.channel }}"
    release_after: 3
    probe: true
"#;

fn get(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .and_then(|r| r.json())
        .unwrap_or(Value::Null)
}

/// The control plane's record of payment/bank-a.
fn bank_a(base: &str) -> Value {
    let all = get(&format!("{base}/api/v1/guards"));
    all["data"]["guards"]
        .as_array()
        .and_then(|gs| {
            gs.iter()
                .find(|g| g["target"]["service"] == "payment" && g["target"]["guard"] == "bank-a")
                .cloned()
        })
        .unwrap_or(Value::Null)
}

/// Posts a payout to the payment service every 50 ms until stopped.
fn payments(payment_url: String, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        let c = client();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let body = json!({
                "idempotency_key": format!("e2e-{n}"),
                "purpose": "disbursement",
                "customer": format!("c-{}", n % 50),
                "account": format!("6222-{n}"),
                "partner": "trust-1",
                "amount": 100_000, // 1000.00 in minor units
            });
            if c.post(format!("{payment_url}/payments"))
                .json(&body)
                .send()
                .is_ok()
            {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

#[test]
fn a_failing_channel_is_cut_off_by_a_rule_and_restored_through_half_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("fast.rules.yaml");
    let actions = dir.path().join("fast.actions.yaml");
    std::fs::write(&rules, RULES).expect("rules");
    std::fs::write(&actions, ACTIONS).expect("actions");
    let reliable = "latency: 5ms, settle_after: 50ms, error_rate: 0, timeout_rate: 0, failure_rate: 0, callback_loss_rate: 0, callback_duplicate_rate: 0";
    let t = Taishan::start_demo(&dir.path().join("data"), |base_port| {
        format!(
            "scrape:\n  self_scrape: false\n\
             demo:\n  base_port: {base_port}\n  metrics_interval: 500ms\n  traffic:\n    rate: 0.5\n    daily_amplitude: 0\n    customers: 50\n    seed: 3\n  channels:\n    - {{name: bank-a, weight: 1, {reliable}}}\n    - {{name: bank-b, weight: 1, {reliable}}}\n\
             rules:\n  demo_rules: false\n  evaluation_interval: 1s\n  files: [{}, {}]\n",
            rules.display(),
            actions.display()
        )
    });
    let base_port = t.demo_base;
    let payment_url = format!("http://127.0.0.1:{}", base_port + 3);
    let banks_url = format!("http://127.0.0.1:{}", base_port + 8);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    payments(payment_url.clone(), stop.clone(), sent.clone());

    // Both channels carry payments, and the plane sees bank-a's breaker closed.
    wait_for(
        "payment results in Taishan",
        Duration::from_secs(60),
        || {
            let r = t.query(
                None,
                // The services export zeros from the start: wait for real successes.
                "sum by (channel) (payment_results_total{status=\"succeeded\"}) > 0",
                None,
            );
            (r["data"]["result"].as_array().map_or(0, Vec::len) == 2).then_some(())
        },
    );
    wait_for("bank-a reported closed", Duration::from_secs(10), || {
        (bank_a(&t.base)["reported"]["state"] == "closed").then_some(())
    });

    // bank-a starts failing every transfer it accepts.
    let patched = client()
        .patch(format!("{banks_url}/channels/bank-a/faults"))
        .json(&json!({"failure_rate": 1.0}))
        .send()
        .expect("patch faults");
    assert!(patched.status().is_success());

    let opened = wait_for(
        "the rule to open bank-a's breaker",
        Duration::from_secs(60),
        || {
            let g = bank_a(&t.base);
            (g["reported"]["state"] == "open").then_some(g)
        },
    );
    let decision = &opened["automatic"];
    assert_eq!(decision["command"]["command"], "open_breaker", "{opened}");
    assert_eq!(decision["source"]["kind"], "rule");
    assert_eq!(decision["source"]["alert"], "BankChannelFailing");
    assert_eq!(decision["source"]["labels"]["channel"], "bank-a");
    assert!(
        decision["source"]["value"]
            .as_f64()
            .is_some_and(|v| v > 0.5),
        "{decision}"
    );
    let decided_at = decision["at_ms"].as_i64().expect("at_ms");

    // It acted at the evaluation where the alert first fired: `for` held, no more.
    // The first sample of each ALERTS series: when the alert went pending, when it fired.
    let first = |state: &str| -> f64 {
        let q = format!(
            "ALERTS{{alertname=\"BankChannelFailing\", alertstate=\"{state}\", channel=\"bank-a\"}}[5m]"
        );
        let r = t.query(None, &q, None);
        r["data"]["result"][0]["values"][0][0]
            .as_f64()
            .unwrap_or_else(|| panic!("no {state} ALERTS: {r}"))
    };
    let first_firing_s = first("firing");
    assert!(
        (decided_at as f64 / 1000.0 - first_firing_s).abs() < 0.001,
        "decided at {decided_at} ms, alert fired at {first_firing_s} s"
    );
    // When it went pending: the alert's activeAt. (Not the first pending ALERTS sample: as
    // in Prometheus, no ALERTS are written before the group's `for` state is restored, so
    // an alert pending from the very first evaluation has no sample for it.)
    let alerts = get(&format!("{}/api/v1/alerts", t.base));
    let active_at = alerts["data"]["alerts"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|x| {
                x["labels"]["alertname"] == "BankChannelFailing"
                    && x["labels"]["channel"] == "bank-a"
            })
        })
        .and_then(|x| x["activeAt"].as_str())
        .and_then(|s| humantime::parse_rfc3339(s).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or_else(|| panic!("no active BankChannelFailing for bank-a: {alerts}"));
    assert!(
        first_firing_s - active_at >= 1.999 && first_firing_s - active_at < 4.5,
        "pending from {active_at}, firing at {first_firing_s}: `for: 2s` with 1s evaluations (a slot or two may be missed on a busy machine)"
    );
    // New payments all take bank-b while bank-a is cut off.
    let after = decided_at + 1_000;
    let moved = wait_for("payments after the cut", Duration::from_secs(20), || {
        let list = get(&format!("{payment_url}/payments?created_from_ms={after}"));
        let channels: Vec<String> = list
            .as_array()?
            .iter()
            .filter_map(|p| p["channel"].as_str().map(str::to_owned))
            .collect();
        (channels.len() >= 20).then_some(channels)
    });
    assert!(moved.iter().all(|c| c == "bank-b"), "{moved:?}");

    // The audit log explains it.
    let audit = get(&format!(
        "{}/api/v1/guards/audit?service=payment&guard=bank-a&limit=100",
        t.base
    ));
    let entries = audit["data"]["entries"]
        .as_array()
        .expect("entries")
        .clone();
    let decided = entries
        .iter()
        .find(|e| e["event"] == "decided" && e["decision"]["command"]["command"] == "open_breaker")
        .expect("the decision is audited");
    let reason = decided["decision"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("BankChannelFailing{channel=bank-a, severity=page} firing")
            && reason.contains("bank-a fails"),
        "{reason}"
    );
    // The service carried it out at once, not at its next periodic report.
    let reported_open = entries
        .iter()
        .find(|e| e["event"] == "reported" && e["to"] == "open")
        .and_then(|e| e["at_ms"].as_i64())
        .expect("the open breaker is reported");
    assert!(
        reported_open - decided_at < 500,
        "bank-a reported open {} ms after the decision",
        reported_open - decided_at
    );

    // bank-a recovers; the alert clears, the rule lets go, probes close the breaker.
    client()
        .patch(format!("{banks_url}/channels/bank-a/faults"))
        .json(&json!({"failure_rate": 0.0}))
        .send()
        .expect("patch faults");
    wait_for(
        "bank-a's breaker to close again",
        Duration::from_secs(90),
        || (bank_a(&t.base)["reported"]["state"] == "closed").then_some(()),
    );
    let audit = get(&format!(
        "{}/api/v1/guards/audit?service=payment&guard=bank-a&limit=100",
        t.base
    ));
    let mut path: Vec<String> = audit["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["event"] == "reported")
        .filter_map(|e| e["to"].as_str().map(str::to_owned))
        .collect();
    path.reverse();
    let tail: Vec<&str> = path
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s != "open")
        .collect();
    assert!(
        tail.windows(3)
            .any(|w| w == ["open", "half_open", "closed"]),
        "bank-a went {path:?}"
    );
    let released = audit["data"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| {
            e["event"] == "decided"
                && e["decision"]["command"]["command"] == "release"
                && e["decision"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("not firing for 3 evaluation(s)"))
        });
    assert!(released, "{audit}");
    stop.store(true, Ordering::Relaxed);
    assert!(sent.load(Ordering::Relaxed) > 100);
}
