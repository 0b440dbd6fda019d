//! The alerter through its public API on a manual clock: alerts taken, grouped, flushed
//! when due, muted by silences, inhibit rules and time intervals, delivered to a real HTTP
//! peer on loopback.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use parking_lot::Mutex;
use taishan_alerter::notify::Delivery;
use taishan_alerter::postable::parse_alerts;
use taishan_alerter::silences::Silence;
use taishan_alerter::{Alerter, AlerterMetrics, AlerterOptions, CompiledConfig};
use taishan_core::{Clock, ManualClock};

type Bodies = Arc<Mutex<Vec<serde_json::Value>>>;

async fn peer() -> (Bodies, String) {
    async fn take(State(b): State<Bodies>, body: axum::body::Bytes) {
        b.lock()
            .push(serde_json::from_slice(&body).unwrap_or_default());
    }
    let bodies = Bodies::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (bodies, url)
}

// 2026-12-02T10:00:00Z, a Wednesday.
const T0: i64 = 1_796_205_600_000;

async fn alerter(extra: &str) -> (Arc<Alerter>, Arc<ManualClock>, Bodies) {
    alerter_with(extra, AlerterOptions::default()).await
}

async fn alerter_with(
    extra: &str,
    options: AlerterOptions,
) -> (Arc<Alerter>, Arc<ManualClock>, Bodies) {
    let (bodies, url) = peer().await;
    let text = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 1h\n{extra}receivers:\n  - name: hook\n    webhook_configs:\n      - url: {url}\n"
    );
    let clock = Arc::new(ManualClock::at(T0));
    let alerter = alerter_on(&text, &clock, options);
    (alerter, clock, bodies)
}

/// An alerter running the config `text` on `clock`.
fn alerter_on(text: &str, clock: &Arc<ManualClock>, options: AlerterOptions) -> Arc<Alerter> {
    let http = reqwest::Client::new();
    let config = CompiledConfig::compile("am.yml", text, &http).unwrap();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    Alerter::new(
        config,
        dyn_clock,
        options,
        AlerterMetrics::unregistered().unwrap(),
        http,
    )
    .unwrap()
}

fn post(a: &Alerter, clock: &ManualClock, json: &str) {
    let (alerts, bad) = parse_alerts(json.as_bytes(), clock.now_ms(), 300_000);
    assert!(bad.is_empty(), "{bad:?}");
    a.take(alerts);
}

#[tokio::test]
async fn alerts_group_wait_flush_dedup_and_repeat_on_the_manual_clock() {
    let (a, clock, bodies) = alerter("").await;
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}},{"labels":{"alertname":"Down","instance":"b"}}]"#,
    );
    assert!(
        a.flush_due().await.is_empty(),
        "group_wait holds the first notification"
    );
    clock.advance(Duration::from_secs(30));
    let out = a.flush_due().await;
    assert_eq!(out[0].deliveries, [Delivery::Delivered]);
    assert_eq!(bodies.lock()[0]["alerts"].as_array().map(Vec::len), Some(2));
    // Still firing, reposted: nothing new until the repeat interval.
    clock.advance(Duration::from_secs(300));
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}},{"labels":{"alertname":"Down","instance":"b"}}]"#,
    );
    assert_eq!(a.flush_due().await[0].deliveries, [Delivery::Deduplicated]);
    clock.advance(Duration::from_secs(3600));
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}},{"labels":{"alertname":"Down","instance":"b"}}]"#,
    );
    assert_eq!(a.flush_due().await[0].deliveries, [Delivery::Delivered]);
    assert_eq!(bodies.lock().len(), 2);
}

#[tokio::test]
async fn a_silence_mutes_and_the_resolution_still_reaches_who_heard_it_fire() {
    let (deliveries, bodies) = resolved_while_silenced(AlerterOptions::default()).await;
    assert_eq!(deliveries, [Delivery::Delivered]);
    let last = bodies.lock().last().cloned().unwrap();
    assert_eq!(last["status"], "resolved", "{last}");
    // Switched off for this receiver: Alertmanager's behaviour, nothing more is said.
    let quiet = AlerterOptions {
        resolve_muted_receivers: [("hook".to_string(), false)].into(),
        ..AlerterOptions::default()
    };
    let (deliveries, bodies) = resolved_while_silenced(quiet).await;
    assert_eq!(deliveries, [Delivery::Deduplicated]);
    assert_eq!(bodies.lock().len(), 1, "only the firing notification");
}

/// An alert notified firing, silenced, then resolved: the next flush's deliveries.
async fn resolved_while_silenced(options: AlerterOptions) -> (Vec<Delivery>, Bodies) {
    let (a, clock, bodies) = alerter_with("", options).await;
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}}]"#,
    );
    clock.advance(Duration::from_secs(30));
    a.flush_due().await;
    let silence = Silence {
        id: String::new(),
        matchers: taishan_alerter::matcher::parse_matchers("instance=a").unwrap(),
        starts_at_ms: clock.now_ms(),
        ends_at_ms: clock.now_ms() + 3_600_000,
        updated_at_ms: 0,
        created_by: "alice".into(),
        comment: "restarting a".into(),
    };
    a.silence(silence, || "s-1".into()).unwrap();
    // It resolves while silenced.
    clock.advance(Duration::from_secs(60));
    let resolved_at = taishan_alerter::timefmt::api_time(clock.now_ms());
    post(
        &a,
        &clock,
        &format!(
            r#"[{{"labels":{{"alertname":"Down","instance":"a"}},"endsAt":"{resolved_at}"}}]"#
        ),
    );
    clock.advance(Duration::from_secs(300));
    let deliveries = a.flush_due().await[0].deliveries.clone();
    (deliveries, bodies)
}

#[tokio::test]
async fn a_firing_critical_inhibits_the_warning_of_the_same_service() {
    let inhibit = "inhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n    equal: [service]\n";
    let (a, clock, bodies) = alerter(inhibit).await;
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","severity":"critical","service":"pay"}},{"labels":{"alertname":"Slow","severity":"warning","service":"pay"}},{"labels":{"alertname":"Slow2","severity":"warning","service":"risk"}}]"#,
    );
    clock.advance(Duration::from_secs(30));
    let out = a.flush_due().await;
    let sent: Vec<String> = bodies
        .lock()
        .iter()
        .map(|b| {
            b["groupLabels"]["alertname"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(
        sent.contains(&"Down".to_string()) && sent.contains(&"Slow2".to_string()),
        "{sent:?}"
    );
    assert!(!sent.contains(&"Slow".to_string()), "{sent:?}");
    assert_eq!(out.len(), 3);
}

#[tokio::test]
async fn a_route_is_quiet_in_its_mute_time_intervals() {
    // T0 is 10:00 UTC on a Wednesday: inside "workday", outside "night".
    let extra = "  routes:\n    - matchers: [team=ops]\n      receiver: hook\n      mute_time_intervals: [workday]\n    - matchers: [team=db]\n      receiver: hook\n      active_time_intervals: [night]\ntime_intervals:\n  - name: workday\n    time_intervals:\n      - weekdays: ['monday:friday']\n        times: [{start_time: '09:00', end_time: '17:00'}]\n  - name: night\n    time_intervals:\n      - times: [{start_time: '00:00', end_time: '06:00'}]\n";
    let (a, clock, bodies) = alerter(extra).await;
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"A","team":"ops"}},{"labels":{"alertname":"B","team":"db"}}]"#,
    );
    clock.advance(Duration::from_secs(30));
    let out = a.flush_due().await;
    assert!(
        out.iter().all(|o| o.deliveries == [Delivery::TimeMuted]),
        "{out:?}"
    );
    assert!(bodies.lock().is_empty());
    // At 18:00 the workday is over: the ops route speaks; db stays quiet until night.
    clock.set_ms(T0 + 8 * 3_600_000);
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"A","team":"ops"}},{"labels":{"alertname":"B","team":"db"}}]"#,
    );
    let out = a.flush_due().await;
    let delivered: Vec<&str> = out
        .iter()
        .filter(|o| o.deliveries == [Delivery::Delivered])
        .map(|o| o.group_key.as_str())
        .collect();
    assert_eq!(delivered.len(), 1, "{out:?}");
    assert!(delivered[0].contains("team=\"ops\""));
}

#[tokio::test]
async fn after_a_restart_what_was_sent_is_not_sent_again_and_silences_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (bodies, url) = peer().await;
    let text = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {url}\n"
    );
    let clock = Arc::new(ManualClock::at(T0));
    let start = || {
        let options = AlerterOptions {
            data_dir: Some(dir.path().to_path_buf()),
            ..AlerterOptions::default()
        };
        alerter_on(&text, &clock, options)
    };
    let a = start();
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}}]"#,
    );
    assert_eq!(a.flush_due().await[0].deliveries, [Delivery::Delivered]);
    let silence = Silence {
        id: String::new(),
        matchers: taishan_alerter::matcher::parse_matchers("instance=b").unwrap(),
        starts_at_ms: clock.now_ms(),
        ends_at_ms: clock.now_ms() + 3_600_000,
        updated_at_ms: 0,
        created_by: "alice".into(),
        comment: "b is being replaced".into(),
    };
    let id = a.silence(silence, || "s-1".into()).unwrap();
    drop(a);

    clock.advance(Duration::from_secs(60));
    let b = start();
    assert_eq!(
        b.silences().get(&id).map(|s| s.comment),
        Some("b is being replaced".into())
    );
    // The sender reposts the same alert: the restarted alerter knows it was told.
    post(
        &b,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}}]"#,
    );
    assert_eq!(b.flush_due().await[0].deliveries, [Delivery::Deduplicated]);
    assert_eq!(bodies.lock().len(), 1);
}

#[tokio::test]
async fn a_burst_of_groups_is_delivered_over_a_bounded_number_of_requests_at_once() {
    // A peer that answers slowly and remembers how many requests it held at once.
    #[derive(Clone, Default)]
    struct Held {
        now: Arc<std::sync::atomic::AtomicUsize>,
        max: Arc<std::sync::atomic::AtomicUsize>,
        done: Arc<std::sync::atomic::AtomicUsize>,
    }
    async fn hold(State(h): State<Held>) {
        use std::sync::atomic::Ordering::SeqCst;
        let n = h.now.fetch_add(1, SeqCst) + 1;
        h.max.fetch_max(n, SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        h.now.fetch_sub(1, SeqCst);
        h.done.fetch_add(1, SeqCst);
    }
    let held = Held::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hold))
        .with_state(held.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let text = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {url}\n"
    );
    let clock = Arc::new(ManualClock::at(T0));
    let a = alerter_on(&text, &clock, AlerterOptions::default());
    let burst: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"labels":{{"alertname":"A{i}"}}}}"#))
        .collect();
    post(&a, &clock, &format!("[{}]", burst.join(",")));
    let cancel = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(a.clone().run(cancel.clone()));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while held.done.load(std::sync::atomic::Ordering::SeqCst) < 100 {
        assert!(std::time::Instant::now() < deadline, "not all delivered");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cancel.cancel();
    running.await.unwrap();
    let max = held.max.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=32).contains(&max), "{max} requests at once");
}

#[tokio::test]
async fn the_running_dispatcher_sleeps_on_the_injected_clock_until_a_group_is_due() {
    let (a, clock, bodies) = alerter("").await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(a.clone().run(cancel.clone()));
    post(
        &a,
        &clock,
        r#"[{"labels":{"alertname":"Down","instance":"a"}}]"#,
    );
    // Parked until group_wait is over, however long real time runs meanwhile.
    let parked_until = |at: i64| {
        let clock = clock.clone();
        async move {
            for _ in 0..2_000 {
                if clock.wake_times().contains(&at) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("not parked until {at}: {:?}", clock.wake_times());
        }
    };
    parked_until(T0 + 30_000).await;
    clock.advance(Duration::from_millis(29_999));
    parked_until(T0 + 30_000).await;
    assert!(bodies.lock().is_empty(), "held through group_wait");
    clock.advance(Duration::from_millis(1));
    for _ in 0..2_000 {
        if !bodies.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(bodies.lock().len(), 1, "sent when the group fell due");
    // Nothing changed: the next wake is the garbage minute, no resend before it.
    parked_until(T0 + 90_000).await;
    assert_eq!(bodies.lock().len(), 1);
    cancel.cancel();
    running.await.unwrap();
}
