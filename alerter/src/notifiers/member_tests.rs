//! Each notifier against a loopback peer shaped like its service (a capture server, a
//! WeCom-like token and message API): the exact payload, signature and handling of the
//! service's answers, from a config as a user writes it.

use std::sync::Arc;

use axum::extract::State;
use parking_lot::Mutex;
use taishan_core::{Clock, ManualClock};

use super::Integration;
use crate::model::Alert;
use crate::notify::nflog::NotificationLog;
use crate::notify::tests::{alert, job, rec, start_peer, Peer, FAST};
use crate::notify::{deliver, Delivery};

/// Serves `app` on a free loopback port.
async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The integrations of receiver `team` in alertmanager.yml text.
fn receiver(config: &str) -> Vec<Integration> {
    let compiled =
        crate::CompiledConfig::compile("am.yml", config, &reqwest::Client::new()).unwrap();
    compiled.receivers["team"].clone()
}

/// Delivers one flush of `alerts` at `at_ms` to `integrations`.
async fn send(
    integrations: &[Integration],
    log: &NotificationLog,
    alerts: Vec<Alert>,
    at_ms: i64,
) -> Vec<Delivery> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(at_ms));
    deliver(&job(alerts, at_ms), integrations, rec(log, &clock), FAST).await
}

#[tokio::test]
async fn slack_gets_alertmanagers_message_from_the_default_templates() {
    let (peer, url) = start_peer(&[]).await;
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    slack_configs:\n      - api_url: {url}\n        channel: '#ops'\n        fields:\n          - title: Instance\n            value: '{{{{ .CommonLabels.instance }}}}'\n"
    );
    let integrations = receiver(&config);
    let log = NotificationLog::new(100);
    let out = send(&integrations, &log, vec![alert("a", 0)], 10_000).await;
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
    let addr = serve(app).await;
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    dingtalk_configs:\n      - webhook_url: http://{addr}/robot/send?access_token=tok\n        secret: SECtest\n        at_mobiles: ['13800000000']\n"
    );
    let integrations = receiver(&config);
    let log = NotificationLog::new(100);
    let out = send(&integrations, &log, vec![alert("a", 0)], 1_796_205_600_000).await;
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
    let integrations = receiver(&config);
    let log = NotificationLog::new(100);
    // The capture peer answers 200 with an empty body, which Feishu never does: refused.
    let out = send(&integrations, &log, vec![alert("a", 0)], 1_796_205_600_250).await;
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
    let addr = serve(app).await;
    let config = format!(
        "global:\n  wechat_api_url: http://{addr}/cgi-bin/\n  wechat_api_secret: s3cret\n  wechat_api_corp_id: corp1\nroute:\n  receiver: team\nreceivers:\n  - name: team\n    wechat_configs:\n      - agent_id: '1000002'\n        to_party: '2'\n        message: '{{{{ template \"__subject\" . }}}}'\n"
    );
    let integrations = receiver(&config);
    let log = NotificationLog::new(100);
    let out = send(&integrations, &log, vec![alert("a", 0)], 10_000).await;
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
    let ctx = taishan_template::Expansion {
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
    let addr = serve(app).await;
    let config = format!(
        "route:\n  receiver: team\nreceivers:\n  - name: team\n    wecom_robot_configs:\n      - webhook_url: http://{addr}/cgi-bin/webhook/send?key=k\n"
    );
    let integrations = receiver(&config);
    let log = NotificationLog::new(100);
    let out = send(&integrations, &log, vec![alert("a", 0)], 10_000).await;
    assert_eq!(out, [Delivery::Delivered]);
    assert_eq!(
        peer.bodies.lock()[0],
        serde_json::json!({"msgtype": "markdown", "markdown": {"content":
            "**[FIRING:1] Down (a)**\n> Down firing: it is down\n[Taishan](http://127.0.0.1:9093/#/alerts?receiver=team)"}})
    );
    let out = send(&integrations, &log, vec![alert("b", 0)], 20_000).await;
    assert!(
        matches!(&out[0], Delivery::Failed(m) if m.contains("errcode 93000: invalid webhook url")),
        "{out:?}"
    );
}

#[tokio::test]
async fn http_config_credentials_reach_the_peer_and_global_settings_are_inherited() {
    let (peer, url) = start_peer(&[]).await;
    let config = format!(
        "global:\n  http_config:\n    authorization: {{credentials: fleet-token}}\nroute:\n  receiver: team\nreceivers:\n  - name: team\n    webhook_configs:\n      - url: {url}\n        http_config:\n          basic_auth: {{username: am, password: s3cret}}\n      - url: {url}\n"
    );
    let integrations = receiver(&config);
    let log = NotificationLog::new(100);
    let out = send(&integrations, &log, vec![alert("a", 0)], 10_000).await;
    assert_eq!(out, [Delivery::Delivered, Delivery::Delivered]);
    assert_eq!(
        *peer.authorizations.lock(),
        [
            Some("Basic YW06czNjcmV0".to_string()),
            Some("Bearer fleet-token".to_string())
        ]
    );

    let bad = "route:\n  receiver: team\nreceivers:\n  - name: team\n    webhook_configs:\n      - url: http://127.0.0.1:1/\n        http_config:\n          oauth2: {client_id: x}\n";
    let err = crate::CompiledConfig::compile("am.yml", bad, &reqwest::Client::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("receivers[0].webhook_configs[0].http_config.oauth2")
            && err.contains("am.yml:8"),
        "{err}"
    );
}
