//! The pipeline against a real HTTP peer on loopback that answers with the statuses it is
//! told to, recording every body it receives.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use parking_lot::Mutex;
use taishan_core::{Clock, ManualClock};

use crate::model::LabelSet;

use super::*;
use crate::config::{GlobalConfig, IntegrationConfig};
use crate::model::Alert;
use crate::notifiers;
use taishan_guard::RateLimiter;

#[derive(Clone, Default)]
pub(crate) struct Peer {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    pub(crate) bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    /// The `Authorization` header of each request.
    pub(crate) authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

async fn receive(
    State(peer): State<Peer>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    peer.bodies
        .lock()
        .push(serde_json::from_slice(&body).unwrap_or_default());
    peer.authorizations.lock().push(
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    );
    let status = peer.statuses.lock().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

pub(crate) async fn start_peer(statuses: &[u16]) -> (Peer, String) {
    let peer = Peer::default();
    peer.statuses.lock().extend(statuses);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(peer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (peer, url)
}

fn webhook(url: &str, send_resolved: bool) -> Integration {
    let entry =
        serde_yaml_ng::from_str(&format!("url: {url}\nsend_resolved: {send_resolved}\n")).unwrap();
    let config = IntegrationConfig {
        kind: "webhook".into(),
        index: 0,
        value: entry,
    };
    notifiers::build(
        0,
        &config,
        &GlobalConfig::default(),
        &reqwest::Client::new(),
        &Default::default(),
    )
    .unwrap()
    .unwrap()
}

pub(crate) fn alert(instance: &str, ends_at_ms: i64) -> Alert {
    Alert {
        labels: LabelSet::from([
            ("alertname".to_string(), "Down".to_string()),
            ("instance".to_string(), instance.to_string()),
        ]),
        annotations: LabelSet::from([("summary".to_string(), "it is down".to_string())]),
        starts_at_ms: 1_000,
        ends_at_ms,
        generator_url: "http://prometheus/graph".into(),
        updated_at_ms: 1_000,
        timeout: false,
    }
}

pub(crate) fn job(alerts: Vec<Alert>, at_ms: i64) -> FlushJob {
    FlushJob {
        notification: Notification {
            receiver: "team".into(),
            group_key: "{}:{alertname=\"Down\"}".into(),
            group_labels: LabelSet::from([("alertname".to_string(), "Down".to_string())]),
            alerts,
            at_ms,
            external_url: "http://127.0.0.1:9093".into(),
            page: None,
        },
        repeat: Duration::from_secs(3600),
        deadline: Duration::from_secs(5),
        muted: Default::default(),
        resolve_muted: true,
        limiter: None,
    }
}

pub(crate) fn rec<'a>(log: &'a NotificationLog, clock: &'a Arc<dyn Clock>) -> DeliveryRecord<'a> {
    static METRICS: std::sync::OnceLock<AlerterMetrics> = std::sync::OnceLock::new();
    DeliveryRecord {
        log,
        metrics: METRICS.get_or_init(|| AlerterMetrics::unregistered().unwrap()),
        clock,
    }
}

pub(crate) const FAST: Backoff = Backoff {
    initial: Duration::from_millis(5),
    max: Duration::from_millis(20),
};

#[tokio::test]
async fn a_webhook_gets_alertmanagers_json_once_then_again_when_something_changes() {
    let (peer, url) = start_peer(&[]).await;
    let integrations = vec![webhook(&url, true)];
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(10_000));

    let first = job(vec![alert("a", 0)], 10_000);
    assert_eq!(
        deliver(&first, &integrations, rec(&log, &clock), FAST).await,
        [Delivery::Delivered]
    );
    // The same flush again changes nothing.
    assert_eq!(
        deliver(&first, &integrations, rec(&log, &clock), FAST).await,
        [Delivery::Deduplicated]
    );
    // One resolves: news.
    let resolved = job(vec![alert("a", 15_000)], 20_000);
    assert_eq!(
        deliver(&resolved, &integrations, rec(&log, &clock), FAST).await,
        [Delivery::Delivered]
    );

    let bodies = peer.bodies.lock().clone();
    assert_eq!(bodies.len(), 2);
    let b = &bodies[0];
    assert_eq!(b["version"], "4");
    assert_eq!(b["status"], "firing");
    assert_eq!(b["receiver"], "team");
    assert_eq!(b["groupKey"], "{}:{alertname=\"Down\"}");
    assert_eq!(b["truncatedAlerts"], 0);
    assert_eq!(b["externalURL"], "http://127.0.0.1:9093");
    assert_eq!(b["commonLabels"]["instance"], "a");
    assert_eq!(b["commonAnnotations"]["summary"], "it is down");
    let a = &b["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(a["startsAt"], "1970-01-01T00:00:01Z");
    assert_eq!(a["generatorURL"], "http://prometheus/graph");
    assert_eq!(a["fingerprint"].as_str().map(str::len), Some(16));
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["alerts"][0]["endsAt"], "1970-01-01T00:00:15Z");
}

#[tokio::test]
async fn failures_are_retried_with_backoff_and_every_attempt_is_recorded() {
    let (peer, url) = start_peer(&[503, 500]).await;
    let integrations = vec![webhook(&url, true)];
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(10_000));
    let out = deliver(
        &job(vec![alert("a", 0)], 10_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert_eq!(out, [Delivery::Delivered]);
    assert_eq!(peer.bodies.lock().len(), 3);
    let statuses: Vec<Option<u16>> = log.attempts().iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(500), Some(200)]);
    assert!(log.attempts()[0]
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("503"));
    assert_eq!(log.attempts()[2].attempt, 3);
}

#[tokio::test]
async fn a_refusal_that_retrying_cannot_fix_is_not_retried() {
    let (peer, url) = start_peer(&[400]).await;
    let integrations = vec![webhook(&url, true)];
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(10_000));
    let out = deliver(
        &job(vec![alert("a", 0)], 10_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert!(
        matches!(&out[0], Delivery::Failed(m) if m.contains("400")),
        "{out:?}"
    );
    assert_eq!(peer.bodies.lock().len(), 1);
    // Not logged as delivered: the next flush tries again.
    let again = deliver(
        &job(vec![alert("a", 0)], 20_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert_eq!(again, [Delivery::Delivered]);
}

#[tokio::test]
async fn without_send_resolved_only_firing_alerts_are_sent() {
    let (peer, url) = start_peer(&[]).await;
    let integrations = vec![webhook(&url, false)];
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(10_000));
    deliver(
        &job(vec![alert("a", 0), alert("b", 0)], 10_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    // b resolves: not news to this receiver.
    let out = deliver(
        &job(vec![alert("a", 0), alert("b", 5_000)], 20_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert_eq!(out, [Delivery::Deduplicated]);
    // A new one fires: sent without the resolved one.
    let out = deliver(
        &job(
            vec![alert("a", 0), alert("b", 5_000), alert("c", 0)],
            30_000,
        ),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert_eq!(out, [Delivery::Delivered]);
    let bodies = peer.bodies.lock().clone();
    assert_eq!(bodies.len(), 2);
    let instances: Vec<&str> = bodies[1]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["instance"].as_str().unwrap())
        .collect();
    assert_eq!(instances, ["a", "c"]);
}

#[tokio::test]
async fn a_receiver_told_an_alert_fires_hears_it_resolve_though_it_was_silenced_meanwhile() {
    let (peer, url) = start_peer(&[]).await;
    let integrations = vec![webhook(&url, true)];
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(10_000));
    let muted = |mut j: FlushJob, on: bool| {
        let fp = j.notification.alerts[0].fingerprint().0;
        j.muted.insert(fp);
        j.resolve_muted = on;
        j
    };
    deliver(
        &job(vec![alert("a", 0)], 10_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    // Silenced while it fires: nothing is sent.
    let silenced = muted(job(vec![alert("a", 0)], 20_000), true);
    assert_eq!(
        deliver(&silenced, &integrations, rec(&log, &clock), FAST).await,
        [Delivery::Deduplicated]
    );
    // It resolves while silenced: the receiver that heard it fire hears it resolve...
    let resolved = muted(job(vec![alert("a", 25_000)], 30_000), true);
    assert_eq!(
        deliver(&resolved, &integrations, rec(&log, &clock), FAST).await,
        [Delivery::Delivered]
    );
    let bodies = peer.bodies.lock().clone();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["status"], "resolved");
    // ...unless that is switched off, as in Alertmanager.
    let log = NotificationLog::new(100);
    deliver(
        &job(vec![alert("b", 0)], 10_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    let mut quiet = job(vec![alert("b", 25_000)], 30_000);
    quiet
        .muted
        .insert(quiet.notification.alerts[0].fingerprint().0);
    quiet.resolve_muted = false;
    assert_eq!(
        deliver(&quiet, &integrations, rec(&log, &clock), FAST).await,
        [Delivery::Deduplicated]
    );
}

#[tokio::test]
async fn a_receiver_over_its_rate_limit_waits_then_gives_up_until_the_next_flush() {
    let (peer, url) = start_peer(&[]).await;
    let integrations = vec![webhook(&url, true)];
    let log = NotificationLog::new(100);
    let manual = Arc::new(ManualClock::at(10_000));
    let clock: Arc<dyn Clock> = manual.clone();
    let limiter = Arc::new(RateLimiter::new(
        "team",
        taishan_guard::RateLimitConfig {
            rate: 1.0,
            burst: Some(1),
        },
        Arc::new(taishan_guard::LogObserver),
    ));
    let limited = |instance: &str, at: i64| {
        let mut j = job(vec![alert(instance, 0)], at);
        j.notification.group_key = format!("{{}}:{{instance=\"{instance}\"}}");
        j.limiter = Some(limiter.clone());
        j.deadline = Duration::from_millis(50);
        j
    };
    assert_eq!(
        deliver(
            &limited("a", 10_000),
            &integrations,
            rec(&log, &clock),
            FAST
        )
        .await,
        [Delivery::Delivered]
    );
    // The bucket is empty and the clock does not move: the second group gives up.
    let out = deliver(
        &limited("b", 10_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert!(
        matches!(&out[0], Delivery::Failed(m) if m.contains("rate limit of 1/s")),
        "{out:?}"
    );
    manual.advance(Duration::from_secs(1));
    assert_eq!(
        deliver(
            &limited("b", 11_000),
            &integrations,
            rec(&log, &clock),
            FAST
        )
        .await,
        [Delivery::Delivered]
    );
    assert_eq!(peer.bodies.lock().len(), 2);
}
