//! On-call through the alerter's public API on a manual clock: a route names a team, whoever
//! is on call is paged at their own webhook, an unacknowledged page escalates, the signed
//! link in the page acknowledges (and refuses when altered or expired), the acknowledgement
//! survives a restart, the resolution reaches everyone paged, and MTTA and MTTR are exported.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use parking_lot::Mutex;
use taishan_alerter::history::HistoryQuery;
use taishan_alerter::notify::Delivery;
use taishan_alerter::postable::parse_alerts;
use taishan_alerter::{
    alerter_routes, Alerter, AlerterMetrics, AlerterOptions, CompiledConfig, OnCallSource,
};
use taishan_core::{Clock, ManualClock};

type Pages = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A loopback peer taking webhooks at `/<member>`.
async fn peer() -> (Pages, String) {
    async fn take(State(p): State<Pages>, Path(who): Path<String>, body: axum::body::Bytes) {
        p.lock()
            .push((who, serde_json::from_slice(&body).unwrap_or_default()));
    }
    let pages = Pages::default();
    let app = axum::Router::new()
        .route("/{who}", axum::routing::post(take))
        .with_state(pages.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (pages, url)
}

// 2026-12-02T10:00:00Z, a Wednesday; 18:00 in Shanghai, in alice's week.
const T0: i64 = 1_796_205_600_000;

fn files(hook: &str) -> (String, OnCallSource) {
    let am = "route:\n  receiver: payments\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 4h\n".to_string();
    let oncall = format!(
        r#"teams:
  - name: payments
    members:
      - name: alice
        contacts: [{{webhook: {{url: "{hook}/alice"}}}}]
      - name: bob
        contacts: [{{webhook: {{url: "{hook}/bob"}}}}]
      - name: carol
        contacts: [{{webhook: {{url: "{hook}/carol"}}}}]
    schedules:
      - name: primary
        time_zone: Asia/Shanghai
        layers:
          - {{name: weekly, start: "2026-11-30 09:00", rotation: 1w, members: [alice, bob]}}
    escalation:
      levels:
        - notify: [{{schedule: primary}}]
          after: 5m
        - notify: [{{member: carol}}]
"#
    );
    (
        am,
        OnCallSource {
            file: "oncall.yml".into(),
            text: oncall,
        },
    )
}

struct Running {
    alerter: Arc<Alerter>,
    clock: Arc<ManualClock>,
    api: String,
}

async fn start(hook: &str, data_dir: &std::path::Path, clock: Arc<ManualClock>) -> Running {
    let (am, oncall) = files(hook);
    let http = reqwest::Client::new();
    let config = CompiledConfig::compile_with_oncall("am.yml", &am, Some(&oncall), &http).unwrap();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let options = AlerterOptions {
        external_url: api.clone(),
        data_dir: Some(data_dir.to_path_buf()),
        link_ttl: Duration::from_secs(3600),
        ..AlerterOptions::default()
    };
    let metrics = AlerterMetrics::unregistered().unwrap();
    let alerter = Alerter::new(config, dyn_clock, options, metrics, http).unwrap();
    let app = alerter_routes(alerter.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running {
        alerter,
        clock,
        api,
    }
}

fn post(r: &Running, json: &str) {
    let (alerts, bad) = parse_alerts(json.as_bytes(), r.clock.now_ms(), 300_000);
    assert!(bad.is_empty(), "{bad:?}");
    r.alerter.take(alerts);
}

const FIRING: &str = r#"[{"labels":{"alertname":"PaymentsFailing","service":"payment"}}]"#;

async fn get_json(url: String) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

fn who(pages: &Pages) -> Vec<String> {
    pages.lock().iter().map(|(w, _)| w.clone()).collect()
}

#[tokio::test]
async fn the_person_on_call_is_paged_escalated_and_acknowledges_from_the_link() {
    let (pages, hook) = peer().await;
    let dir = tempfile::tempdir().unwrap();
    let r = start(&hook, dir.path(), Arc::new(ManualClock::at(T0))).await;
    post(&r, FIRING);
    let out = r.alerter.flush_due().await;
    assert_eq!(out[0].deliveries, [Delivery::Delivered]);
    assert_eq!(who(&pages), ["alice"]);
    let first = pages.lock()[0].1.clone();
    assert_eq!(first["receiver"], "payments");
    assert_eq!(first["taishan"]["member"], "alice");
    assert_eq!(first["taishan"]["via"], "schedule primary (weekly)");
    assert_eq!(first["taishan"]["level"], 1);

    // Not acknowledged within 5 minutes: carol, with the same alerts.
    r.clock.advance(Duration::from_secs(299));
    assert!(r.alerter.escalate_due().await.is_empty());
    r.clock.advance(Duration::from_secs(1));
    assert_eq!(r.alerter.escalate_due().await, [Delivery::Delivered]);
    assert_eq!(who(&pages), ["alice", "carol"]);
    let page = pages.lock()[1].1.clone();
    assert_eq!(page["taishan"]["level"], 2);
    assert_eq!(page["alerts"][0]["labels"]["alertname"], "PaymentsFailing");

    // The link: a GET shows a button and acts on nothing; an altered one is refused; the
    // POST acknowledges.
    let link = page["taishan"]["ackURL"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let shown = http.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert!(shown.text().await.unwrap().contains("<button"));
    assert!(r.alerter.pager().incidents()[0].acknowledged.is_none());
    let form: Vec<(String, String)> = reqwest::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let forged: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "member" {
                    "mallory".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let refused = http
        .post(format!("{}/api/taishan/v1/link", r.api))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let done = http
        .post(format!("{}/api/taishan/v1/link", r.api))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Acknowledged"));
    let incident = r.alerter.pager().incidents()[0].clone();
    assert_eq!(
        incident.acknowledged.as_ref().map(|a| a.by.as_str()),
        Some("carol")
    );

    // Acknowledged: no more escalation, no more pages for it.
    r.clock.advance(Duration::from_secs(600));
    assert!(r.alerter.escalate_due().await.is_empty());
    post(&r, FIRING);
    r.alerter.flush_due().await;
    assert_eq!(who(&pages).len(), 2);
    let mta = r
        .alerter
        .metrics()
        .time_to_acknowledge
        .with_label_values(&["payments", "payment"]);
    assert_eq!(mta.get_sample_count(), 1);
    assert_eq!(mta.get_sample_sum(), 300.0);

    // Two hours on, the link has expired.
    r.clock.advance(Duration::from_secs(7200));
    let expired = http
        .post(format!("{}/api/taishan/v1/link", r.api))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 410);

    // The acknowledgement outlives a restart.
    let fp = incident.firing[0];
    let again = start(&hook, dir.path(), r.clock.clone()).await;
    assert_eq!(
        again.alerter.ack_of(fp).map(|a| a.by),
        Some("carol".to_string())
    );

    // Resolved: everyone paged hears it, and MTTR is recorded.
    post(
        &r,
        r#"[{"labels":{"alertname":"PaymentsFailing","service":"payment"},"endsAt":"2026-12-02T12:00:00Z"}]"#,
    );
    r.clock.advance(Duration::from_secs(60));
    r.alerter.flush_due().await;
    let resolved: Vec<String> = pages
        .lock()
        .iter()
        .filter(|(_, b)| b["status"] == "resolved")
        .map(|(w, _)| w.clone())
        .collect();
    assert_eq!(resolved, ["alice", "carol"]);
    assert!(r.alerter.pager().incidents().is_empty());
    let mttr = r
        .alerter
        .metrics()
        .time_to_resolve
        .with_label_values(&["payments", "payment"]);
    assert_eq!(mttr.get_sample_count(), 1);

    // The whole story is in the history, by alert and by person.
    r.alerter.flush_history();
    let rows = r
        .alerter
        .history(&HistoryQuery {
            alert: Some("PaymentsFailing".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let story: Vec<String> = rows
        .iter()
        .rev()
        .map(|e| {
            format!("{} {}", e.kind.as_str(), e.person)
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(
        story,
        [
            "firing",
            "paged alice",
            "escalated",
            "paged carol",
            "acknowledged carol",
            "resolved",
            "paged alice",
            "paged carol"
        ]
    );
    assert_eq!(rows[0].team, "payments");
    let carol = get_json(format!(
        "{}/api/taishan/v1/history?person=carol&kind=paged",
        r.api
    ))
    .await;
    assert_eq!(
        carol["data"]["events"].as_array().unwrap().len(),
        2,
        "{carol}"
    );
    let bad = reqwest::get(format!("{}/api/taishan/v1/history?since=yesterday", r.api))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_api_says_who_is_on_call_and_acknowledges_by_matchers() {
    let (_pages, hook) = peer().await;
    let dir = tempfile::tempdir().unwrap();
    let r = start(&hook, dir.path(), Arc::new(ManualClock::at(T0))).await;
    let http = reqwest::Client::new();
    let now = get_json(format!("{}/api/taishan/v1/oncall", r.api)).await;
    let team = &now["data"]["teams"][0];
    assert_eq!(team["schedules"]["primary"]["member"], "alice");
    assert_eq!(
        team["schedules"]["primary"]["until"],
        "2026-12-07T01:00:00.000Z"
    );
    let next_week = get_json(format!(
        "{}/api/taishan/v1/oncall?at=2026-12-08T00:00:00Z",
        r.api
    ))
    .await;
    assert_eq!(next_week["data"]["teams"][0]["paged"][0]["member"], "bob");

    post(&r, FIRING);
    r.alerter.flush_due().await;
    let bad = http
        .post(format!("{}/api/taishan/v1/alerts/ack", r.api))
        .json(&serde_json::json!({"filter": ["service=\"payment\""]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "no `by`: refused");
    assert!(bad.text().await.unwrap().contains("missing field `by`"));
    let acked: serde_json::Value = http
        .post(format!("{}/api/taishan/v1/alerts/ack", r.api))
        .json(&serde_json::json!({"filter": ["service=\"payment\""], "by": "alice", "comment": "on it"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acked["data"]["alerts"].as_array().unwrap().len(), 1);
    let incidents = get_json(format!("{}/api/taishan/v1/incidents", r.api)).await;
    assert_eq!(
        incidents["data"]["incidents"][0]["acknowledged"]["by"],
        "alice"
    );
    assert_eq!(incidents["data"]["incidents"][0]["fullyAcknowledged"], true);
    let missing = http
        .post(format!(
            "{}/api/taishan/v1/incidents/0000000000000000/ack",
            r.api
        ))
        .json(&serde_json::json!({"by": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
