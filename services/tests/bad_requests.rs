//! Bad requests to any service API: 400 (401 for a missing key) with a reason, and nothing
//! half-written.
#![allow(clippy::inconsistent_digit_grouping)]

mod support;

use serde_json::{json, Value};
use taishan_chaos::ChannelProfile;

async fn raw(method: reqwest::Method, url: &str, body: &str, key: bool) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .request(method, url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if key {
        r = r.header("x-api-key", "demo-mobile-app");
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn reason(v: &Value) -> String {
    v["reason"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_refuses_bad_input_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _clock) =
        support::start(dir.path(), vec![ChannelProfile::reliable("bank-a", 1)]).await;
    let url = |s: &str| demo.url(s).unwrap();
    let post = reqwest::Method::POST;

    // Gateway: no key, unknown key, then a body that is not JSON.
    let (s, v) = raw(
        post.clone(),
        &format!("{}/api/applications", url("gateway")),
        "{}",
        false,
    )
    .await;
    assert_eq!(
        (s, reason(&v).contains("missing x-api-key")),
        (401, true),
        "{v}"
    );
    let (s, v) = raw(
        post.clone(),
        &format!("{}/api/applications", url("gateway")),
        "{",
        true,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(reason(&v).starts_with("request body:"), "{v}");

    // Loan: every broken field at once; a drawdown without a line.
    let (s, v) = support::post(
        &format!("{}/applications", url("loan")),
        json!({"customer": "bad name!", "amount": -5, "term": 99}),
    )
    .await;
    assert_eq!(s, 400);
    let r = reason(&v);
    assert!(
        r.contains("customer:") && r.contains("amount:") && r.contains("term:"),
        "{r}"
    );
    let (s, v) = support::post(
        &format!("{}/drawdowns", url("loan")),
        json!({"customer": "nobody", "amount": 100_00, "term": 3}),
    )
    .await;
    assert_eq!(
        (s, reason(&v).contains("no credit line")),
        (400, true),
        "{v}"
    );

    // Loan: a repayment of a drawdown that does not exist.
    let (s, v) = support::post(
        &format!("{}/repayments", url("loan")),
        json!({"drawdown_id": "dd-nope", "amount": 5}),
    )
    .await;
    assert_eq!((s, reason(&v).contains("no drawdown")), (404, true), "{v}");

    // Payment: unknown field, bad amount, bad purpose.
    let (s, v) = support::post(
        &format!("{}/payments", url("payment")),
        json!({"idempotency_key": "k", "purpose": "disbursement", "customer": "c", "account": "a",
               "partner": "trust-1", "amount": 0}),
    )
    .await;
    assert_eq!(
        (s, reason(&v).contains("amount: must be positive")),
        (400, true),
        "{v}"
    );
    let (s, v) = support::post(
        &format!("{}/payments", url("payment")),
        json!({"idempotency_key": "k", "purpose": "gift", "customer": "c", "account": "a",
               "partner": "trust-1", "amount": 1}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(reason(&v).contains("purpose"), "{v}");
    assert!(
        support::all_payments(&demo).is_empty(),
        "nothing half-written"
    );

    // Ledger: unbalanced legs, unknown account class.
    let (s, v) = support::post(
        &format!("{}/entries", url("ledger")),
        json!({"idempotency_key": "e1", "description": "x",
               "legs": [{"account": "bank:bank-a", "amount": 100}, {"account": "loans:p", "amount": -99}]}),
    )
    .await;
    assert_eq!((s, reason(&v).contains("sum to zero")), (400, true), "{v}");
    let (s, v) = support::post(
        &format!("{}/entries", url("ledger")),
        json!({"idempotency_key": "e2", "description": "x",
               "legs": [{"account": "cash:x", "amount": 100}, {"account": "loans:p", "amount": -100}]}),
    )
    .await;
    assert_eq!(
        (s, reason(&v).contains("unknown class")),
        (400, true),
        "{v}"
    );
    assert_eq!(demo.ledger.trial_balance().unwrap().entries, 0);

    // Risk: a bad decision request; the degrade switch without a reason.
    let (s, _) = support::post(
        &format!("{}/decisions", url("risk")),
        json!({"application_id": "", "customer": "c", "amount": 1, "term": 0}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, v) = raw(
        reqwest::Method::PUT,
        &format!("{}/degrade", url("risk")),
        r#"{"degraded":true}"#,
        false,
    )
    .await;
    assert_eq!((s, reason(&v).contains("reason")), (400, true), "{v}");
    assert!(!demo.risk.degrade_switch().is_degraded());

    // Banks: a share out of range changes nothing.
    let (s, v) = raw(
        reqwest::Method::PATCH,
        &format!("{}/channels/bank-a/faults", url("banks")),
        r#"{"error_rate": 2}"#,
        false,
    )
    .await;
    assert_eq!((s, reason(&v).contains("error_rate")), (400, true), "{v}");
    assert_eq!(demo.banks.profile("bank-a").unwrap().error_rate, 0.0);

    // Reconciliation and clearing: an empty window.
    for service in ["reconciliation", "clearing"] {
        let (s, v) = support::post(
            &format!("{}/runs", url(service)),
            json!({"from_ms": 5, "to_ms": 5}),
        )
        .await;
        assert_eq!(
            (s, reason(&v).contains("from_ms")),
            (400, true),
            "{service}: {v}"
        );
    }
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_limits_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _clock) =
        support::start(dir.path(), vec![ChannelProfile::reliable("bank-a", 1)]).await;
    let gw = demo.url("gateway").unwrap();
    // The manual clock stands still: a key gets its burst of 200 and then 429s.
    let mut statuses = Vec::new();
    for _ in 0..205 {
        let (s, _) = support::get(&format!("{gw}/api/customers/nobody/line")).await;
        statuses.push(s);
    }
    assert!(
        statuses[..200].iter().all(|s| *s == 404),
        "{:?}",
        &statuses[..5]
    );
    assert!(statuses[200..].iter().all(|s| *s == 429));
    let r = reqwest::Client::new()
        .get(format!("{gw}/api/customers/nobody/line"))
        .header("x-api-key", "demo-mobile-app")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Another key has its own bucket; every answer carries a request id.
    let r = reqwest::Client::new()
        .get(format!("{gw}/api/customers/nobody/line"))
        .header("x-api-key", "demo-partner-portal")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req-"));
    demo.stop().await;
}
