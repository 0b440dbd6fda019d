//! A customer's whole journey through the services' HTTP APIs, and the books afterwards.
// Amounts in minor units grouped as yuan_fen: 1_000_00 is 1000.00.
#![allow(clippy::inconsistent_digit_grouping)]

mod support;

use serde_json::json;
use taishan_chaos::ChannelProfile;
use taishan_services::payment::PaymentStatus;
use taishan_services::Money;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_draw_repay_and_the_books_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, clock) = support::start(
        dir.path(),
        vec![
            ChannelProfile::reliable("bank-a", 2),
            ChannelProfile::reliable("bank-b", 1),
        ],
    )
    .await;
    let gw = demo.url("gateway").unwrap();
    let customer = support::good_customer(1);

    let (status, app) = support::post(
        &format!("{gw}/api/applications"),
        json!({"customer": customer, "amount": 2_000_00, "term": 2}),
    )
    .await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["decision"]["verdict"], "approved", "{app}");

    let (status, dd) = support::post(
        &format!("{gw}/api/drawdowns"),
        json!({"customer": customer, "amount": 1_000_00, "term": 2}),
    )
    .await;
    assert_eq!(status, 201, "{dd}");
    let drawdown = dd["id"].as_str().unwrap().to_string();
    support::banks_settled(&demo).await;
    support::drain(&demo, &clock).await;
    let (_, dd) = support::get(&format!("{gw}/api/drawdowns/{drawdown}")).await;
    assert_eq!(dd["status"], "disbursed", "{dd}");
    // Two installments of 500.00 plus 10.00 interest each.
    assert_eq!(dd["outstanding"], 1_020_00);

    // More than the loan owes is refused before any money moves.
    let (status, v) = support::post(
        &format!("{gw}/api/repayments"),
        json!({"drawdown_id": drawdown, "amount": 1_020_01}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("more than the 1020.00"),
        "{v}"
    );

    let (status, rp) = support::post(
        &format!("{gw}/api/repayments"),
        json!({"drawdown_id": drawdown}),
    )
    .await;
    assert_eq!(status, 201, "{rp}");
    assert_eq!(
        (rp["amount"].as_i64(), rp["interest"].as_i64()),
        (Some(510_00), Some(10_00))
    );
    support::banks_settled(&demo).await;
    support::drain(&demo, &clock).await;
    let (_, dd) = support::get(&format!("{gw}/api/drawdowns/{drawdown}")).await;
    assert_eq!(dd["outstanding"], 510_00, "{dd}");

    let payments = support::all_payments(&demo);
    assert_eq!(payments.len(), 2);
    assert!(payments
        .iter()
        .all(|p| p.status == PaymentStatus::Succeeded));

    // Lent 1000.00, 500.00 principal back: the loan book holds 500.00, interest earned 10.00.
    let tb = demo.ledger.trial_balance().unwrap();
    assert_eq!(tb.total, Money::ZERO);
    assert_eq!(tb.internal, Money(500_00 - 10_00));
    assert_eq!(tb.entries, 2);

    let report = demo
        .reconciliation
        .run(&opentelemetry::Context::new(), 0, i64::MAX / 2)
        .await
        .unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert_eq!(report.payments, 2);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payout_releases_the_credit_line() {
    let dir = tempfile::tempdir().unwrap();
    let refusing = ChannelProfile {
        failure_rate: 1.0,
        ..ChannelProfile::reliable("bank-a", 1)
    };
    let (demo, clock) = support::start(dir.path(), vec![refusing]).await;
    let gw = demo.url("gateway").unwrap();
    let customer = support::good_customer(2);
    let (s, _) = support::post(
        &format!("{gw}/api/applications"),
        json!({"customer": customer, "amount": 3_000_00, "term": 3}),
    )
    .await;
    assert_eq!(s, 201);
    let (_, line) = support::get(&format!("{gw}/api/customers/{customer}/line")).await;
    let limit = line["limit"].as_i64().unwrap();
    let (s, dd) = support::post(
        &format!("{gw}/api/drawdowns"),
        json!({"customer": customer, "amount": limit, "term": 3}),
    )
    .await;
    assert_eq!(s, 201, "{dd}");
    // The whole line is in use while the pay-out is in flight.
    let (s, v) = support::post(
        &format!("{gw}/api/drawdowns"),
        json!({"customer": customer, "amount": 1_00, "term": 3}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    support::banks_settled(&demo).await;
    support::drain(&demo, &clock).await;
    let (_, dd) = support::get(&format!(
        "{gw}/api/drawdowns/{}",
        dd["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(dd["status"], "failed", "{dd}");
    let (_, line) = support::get(&format!("{gw}/api/customers/{customer}/line")).await;
    assert_eq!(line["used"], 0, "the drawdown was reversed: {line}");
    assert_eq!(demo.ledger.trial_balance().unwrap().entries, 0);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degraded_risk_decides_conservatively() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _clock) =
        support::start(dir.path(), vec![ChannelProfile::reliable("bank-a", 1)]).await;
    let gw = demo.url("gateway").unwrap();
    let risk = demo.url("risk").unwrap();
    let r = reqwest::Client::new()
        .put(format!("{risk}/degrade"))
        .json(&json!({"degraded": true, "reason": "drill: bureau outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let customer = support::good_customer(3);
    let (_, big) = support::post(
        &format!("{gw}/api/applications"),
        json!({"customer": customer, "amount": 50_000_00, "term": 6}),
    )
    .await;
    assert_eq!(big["decision"]["verdict"], "rejected", "{big}");
    assert_eq!(big["decision"]["source"], "fallback");
    let (_, small) = support::post(
        &format!("{gw}/api/applications"),
        json!({"customer": customer, "amount": 3_000_00, "term": 6}),
    )
    .await;
    assert_eq!(small["decision"]["verdict"], "approved", "{small}");
    assert_eq!(small["decision"]["limit"], 5_000_00);
    let states = support::guard_states(demo.risk.guards());
    assert!(
        states.contains(&("risk-model".into(), "degraded")),
        "{states:?}"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_customers_apply_draw_and_repay() {
    use std::sync::Arc;
    use taishan_services::Traffic;
    use taishan_services::TrafficConfig;
    use tokio_util::sync::CancellationToken;

    let dir = tempfile::tempdir().unwrap();
    let (demo, clock) =
        support::start(dir.path(), vec![ChannelProfile::reliable("bank-a", 1)]).await;
    let config = TrafficConfig {
        rate: 400.0,
        daily_amplitude: 0.0,
        customers: 20,
        seed: Some(3),
        ..TrafficConfig::default()
    };
    let traffic = Traffic::new(
        demo.url("gateway").unwrap(),
        "demo-mobile-app".into(),
        config,
        clock.clone(),
    );
    // Two rounds, compensation in between so that drawdowns are paid out and can be repaid.
    for _ in 0..2 {
        Arc::clone(&traffic)
            .run(CancellationToken::new(), Some(120))
            .await;
        support::banks_settled(&demo).await;
        support::drain(&demo, &clock).await;
    }
    let t = traffic.stats().totals();
    assert_eq!(t.applications + t.drawdowns + t.repayments, 240, "{t:?}");
    assert!(
        t.applications > 0 && t.drawdowns > 0 && t.repayments > 0,
        "{t:?}"
    );
    assert_eq!((t.failed, t.dropped), (0, 0), "{t:?}");
    assert!(t.ok > 100, "{t:?}");
    assert!(support::reconcile(&demo).await.differences.is_empty());
    assert_eq!(demo.ledger.trial_balance().unwrap().total, Money::ZERO);
    demo.stop().await;
}
