//! The pipeline against a real HTTP peer on loopback that answers with the statuses it is
//! told to, recording every body it receives.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use parking_lot::Mutex;
use taishan_core::{Clock, ManualClock};

use super::*;
use crate::config::{GlobalConfig, IntegrationConfig};
use crate::model::Alert;
use crate::notifiers;
use taishan_guard::RateLimiter;

#[derive(Clone, Default)]
struct Peer {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn receive(State(peer): State<Peer>, body: axum::body::Bytes) -> StatusCode {
    peer.bodies
        .lock()
        .push(serde_json::from_slice(&body).unwrap_or_default());
    let status = peer.statuses.lock().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

async fn start_peer(statuses: &[u16]) -> (Peer, String) {
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

fn alert(instance: &str, ends_at_ms: i64) -> Alert {
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

fn job(alerts: Vec<Alert>, at_ms: i64) -> FlushJob {
    FlushJob {
        notification: Notification {
            receiver: "team".into(),
            group_key: "{}:{alertname=\"Down\"}".into(),
            group_labels: LabelSet::from([("alertname".to_string(), "Down".to_string())]),
            alerts,
            at_ms,
            external_url: "http://127.0.0.1:9093".into(),
        },
        repeat: Duration::from_secs(3600),
        deadline: Duration::from_secs(5),
        muted: Default::default(),
        resolve_muted: true,
        limiter: None,
    }
}

fn rec<'a>(log: &'a NotificationLog, clock: &'a Arc<dyn Clock>) -> DeliveryRecord<'a> {
    static METRICS: std::sync::OnceLock<AlerterMetrics> = std::sync::OnceLock::new();
    DeliveryRecord {
        log,
        metrics: METRICS.get_or_init(|| AlerterMetrics::unregistered().unwrap()),
        clock,
    }
}

const FAST: Backoff = Backoff {
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

#[tokio::test]
async fn slack_gets_alertmanagers_message_from_the_default_templates() {
    let (peer, url) = start_peer(&[]).await;
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    slack_configs:\n      - api_url: {url}\n        channel: '#ops'\n        fields:\n          - title: Instance\n            value: '{{{{ .CommonLabels.instance }}}}'\n"
    );
    let compiled =
        crate::CompiledConfig::compile("am.yml", &config, &reqwest::Client::new()).unwrap();
    let integrations = compiled.receivers["team"].clone();
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
    let body = peer.bodies.lock()[0].clone();
    assert_eq!(
        body,
        serde_json::json!({
            "channel": "#ops",
            "username": "Taishan",
            "attachments": [{
                "title": "[FIRING:1] Down (a)",
                "title_link": "http://127.0.0.1:9093/#/alerts?receiver=team",
                "text": "",
                "fallback": "[FIRING:1] Down (a) | http://127.0.0.1:9093/#/alerts?receiver=team",
                "callback_id": "",
                "fields": [{"title": "Instance", "value": "a", "short": false}],
                "footer": "",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }],
        })
    );
    // Slack does not hear of resolutions unless asked (send_resolved defaults to false).
    assert!(!integrations[0].notifier.send_resolved());
}

#[test]
fn slack_settings_are_checked_with_their_paths() {
    let bad = "route:\n  receiver: team\nreceivers:\n  - name: team\n    slack_configs:\n      - channel: '#ops'\n        title: '{{ .Nope'\n";
    let err = crate::CompiledConfig::compile("am.yml", bad, &reqwest::Client::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("receivers[0].slack_configs[0].api_url: no global Slack API URL"),
        "{err}"
    );
    let bad_template = "global:\n  slack_api_url: http://slack.example/hook\nroute:\n  receiver: team\nreceivers:\n  - name: team\n    slack_configs:\n      - title: '{{ .Nope'\n";
    let err = crate::CompiledConfig::compile("am.yml", bad_template, &reqwest::Client::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("am.yml:8:9: receivers[0].slack_configs[0].title: template"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dingtalk_robot_gets_a_signed_markdown_message() {
    let peer = Peer::default();
    let app = axum::Router::new()
        .route(
            "/robot/send",
            axum::routing::post(
                |State(peer): State<Peer>, uri: axum::http::Uri, body: axum::body::Bytes| async move {
                    let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    v["query"] = serde_json::Value::String(uri.query().unwrap_or_default().to_string());
                    peer.bodies.lock().push(v);
                    r#"{"errcode":0,"errmsg":"ok"}"#
                },
            ),
        )
        .with_state(peer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    dingtalk_configs:\n      - webhook_url: http://{addr}/robot/send?access_token=tok\n        secret: SECtest\n        at_mobiles: ['13800000000']\n"
    );
    let compiled =
        crate::CompiledConfig::compile("am.yml", &config, &reqwest::Client::new()).unwrap();
    let integrations = compiled.receivers["team"].clone();
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_796_205_600_000));
    let out = deliver(
        &job(vec![alert("a", 0)], 1_796_205_600_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert_eq!(out, [Delivery::Delivered]);
    let got = peer.bodies.lock()[0].clone();
    // The signature of "1796205600000\nSECtest", computed independently (Python's hmac).
    assert_eq!(
        got["query"],
        "access_token=tok&timestamp=1796205600000&sign=%2BLLJp%2Bv%2BGn7G7YDUVUaZRycDjnWmT0CMOL3ddJWdSeY%3D"
    );
    assert_eq!(got["msgtype"], "markdown");
    assert_eq!(got["markdown"]["title"], "[FIRING:1] Down (a)");
    assert_eq!(
        got["markdown"]["text"],
        "#### [FIRING:1] Down (a)\n\n- **Down** firing: it is down\n\n[Taishan](http://127.0.0.1:9093/#/alerts?receiver=team)"
    );
    assert_eq!(
        got["at"],
        serde_json::json!({"atMobiles": ["13800000000"], "atUserIds": [], "isAtAll": false})
    );
}

#[tokio::test]
async fn a_feishu_bot_gets_a_signed_post() {
    let (peer, url) = start_peer(&[]).await;
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    feishu_configs:\n      - webhook_url: {url}\n        secret: feishu-secret\n"
    );
    let compiled =
        crate::CompiledConfig::compile("am.yml", &config, &reqwest::Client::new()).unwrap();
    let integrations = compiled.receivers["team"].clone();
    let log = NotificationLog::new(100);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_796_205_600_250));
    // The capture peer answers 200 with an empty body, which Feishu never does: refused.
    let out = deliver(
        &job(vec![alert("a", 0)], 1_796_205_600_250),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert!(
        matches!(&out[0], Delivery::Failed(m) if m.contains("Feishu refused the message: code missing")),
        "{out:?}"
    );
    let got = peer.bodies.lock()[0].clone();
    assert_eq!(
        got,
        serde_json::json!({
            "msg_type": "post",
            "content": {"post": {"zh_cn": {
                "title": "[FIRING:1] Down (a)",
                "content": [
                    [{"tag": "text", "text": "Down firing: it is down"}],
                    [{"tag": "text", "text": "http://127.0.0.1:9093/#/alerts?receiver=team"}],
                ],
            }}},
            "timestamp": "1796205600",
            // The signature of "1796205600\nfeishu-secret", computed independently.
            "sign": "Pepm/2DMFfFJC92EqUKTJ/nFE5vg1+fRB3n42IDMNDQ=",
        })
    );
}

#[tokio::test]
async fn wecom_gets_a_token_then_the_message_and_fetches_a_new_token_when_it_expired() {
    #[derive(Clone, Default)]
    struct WeCom {
        tokens: Arc<Mutex<Vec<String>>>,
        sent: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    }
    let wecom = WeCom::default();
    let app = axum::Router::new()
        .route(
            "/cgi-bin/gettoken",
            axum::routing::get(|State(w): State<WeCom>, uri: axum::http::Uri| async move {
                let mut tokens = w.tokens.lock();
                tokens.push(uri.query().unwrap_or_default().to_string());
                format!(
                    r#"{{"errcode":0,"access_token":"tok-{}","expires_in":7200}}"#,
                    tokens.len()
                )
            }),
        )
        .route(
            "/cgi-bin/message/send",
            axum::routing::post(
                |State(w): State<WeCom>, uri: axum::http::Uri, body: axum::body::Bytes| async move {
                    let mut sent = w.sent.lock();
                    sent.push((
                        uri.query().unwrap_or_default().to_string(),
                        serde_json::from_slice(&body).unwrap_or_default(),
                    ));
                    if sent.len() == 1 {
                        r#"{"errcode":42001,"errmsg":"access_token expired"}"#
                    } else {
                        r#"{"errcode":0,"errmsg":"ok"}"#
                    }
                },
            ),
        )
        .with_state(wecom.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = format!(
        "global:\n  wechat_api_url: http://{addr}/cgi-bin/\n  wechat_api_secret: s3cret\n  wechat_api_corp_id: corp1\nroute:\n  receiver: team\nreceivers:\n  - name: team\n    wechat_configs:\n      - agent_id: '1000002'\n        to_party: '2'\n        message: '{{{{ template \"__subject\" . }}}}'\n"
    );
    let compiled =
        crate::CompiledConfig::compile("am.yml", &config, &reqwest::Client::new()).unwrap();
    let integrations = compiled.receivers["team"].clone();
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
    assert_eq!(
        *wecom.tokens.lock(),
        [
            "corpid=corp1&corpsecret=s3cret",
            "corpid=corp1&corpsecret=s3cret"
        ]
    );
    let sent = wecom.sent.lock().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, "access_token=tok-1");
    assert_eq!(sent[1].0, "access_token=tok-2");
    assert_eq!(
        sent[1].1,
        serde_json::json!({
            "text": {"content": "[FIRING:1] Down (a)"},
            "toparty": "2",
            "agentid": "1000002",
            "safe": "0",
            "msgtype": "text",
            "markdown": {"content": ""},
        })
    );
}

#[test]
fn the_default_wecom_message_lists_firing_and_resolved_alerts() {
    let compiled = crate::CompiledConfig::compile(
        "am.yml",
        "route:\n  receiver: team\nreceivers:\n  - name: team\n",
        &reqwest::Client::new(),
    )
    .unwrap();
    let n = job(vec![alert("a", 0), alert("b", 5_000)], 10_000).notification;
    let ctx = taishan_rules::template::Expansion {
        query: None,
        external_url: &n.external_url,
        time_ms: n.at_ms,
    };
    let text = compiled
        .templates
        .expand_named("wechat.default.message", &n.data().template_value(), &ctx)
        .unwrap();
    assert_eq!(
        text,
        "[FIRING:1] Down \nit is down\nAlerts Firing:\nLabels:\n - alertname = Down\n - instance = a\nAnnotations:\n - summary = it is down\nSource: http://prometheus/graph\n\nAlerts Resolved:\nLabels:\n - alertname = Down\n - instance = b\nAnnotations:\n - summary = it is down\nSource: http://prometheus/graph\n\nTaishan: http://127.0.0.1:9093/#/alerts?receiver=team"
    );
}

#[tokio::test]
async fn a_wecom_robot_gets_markdown_and_its_refusals_are_explained() {
    let peer = Peer::default();
    let app = axum::Router::new()
        .route(
            "/cgi-bin/webhook/send",
            axum::routing::post(
                |State(peer): State<Peer>, body: axum::body::Bytes| async move {
                    let mut bodies = peer.bodies.lock();
                    bodies.push(serde_json::from_slice(&body).unwrap_or_default());
                    if bodies.len() == 1 {
                        r#"{"errcode":0,"errmsg":"ok"}"#
                    } else {
                        r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#
                    }
                },
            ),
        )
        .with_state(peer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    wecom_robot_configs:\n      - webhook_url: http://{addr}/cgi-bin/webhook/send?key=k\n"
    );
    let compiled =
        crate::CompiledConfig::compile("am.yml", &config, &reqwest::Client::new()).unwrap();
    let integrations = compiled.receivers["team"].clone();
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
    assert_eq!(
        peer.bodies.lock()[0],
        serde_json::json!({"msgtype": "markdown", "markdown": {"content":
            "**[FIRING:1] Down (a)**\n> Down firing: it is down\n[Taishan](http://127.0.0.1:9093/#/alerts?receiver=team)"}})
    );
    let out = deliver(
        &job(vec![alert("b", 0)], 20_000),
        &integrations,
        rec(&log, &clock),
        FAST,
    )
    .await;
    assert!(
        matches!(&out[0], Delivery::Failed(m) if m.contains("errcode 93000: invalid webhook url")),
        "{out:?}"
    );
}
