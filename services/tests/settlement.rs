//! What happens after the money moves: clearing per channel and partner, refunds of
//! repayments the loan cannot take, and the dead-letter list.
#![allow(clippy::inconsistent_digit_grouping)]

mod support;

use serde_json::json;
use taishan_chaos::ChannelProfile;
use taishan_services::ledger::{JournalEntry, Leg};
use taishan_services::payment::{PaymentStatus, Purpose};
use taishan_services::Money;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_sums_each_channel_and_partner_once() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, clock) = support::start(
        dir.path(),
        vec![
            ChannelProfile::reliable("bank-a", 1),
            ChannelProfile::reliable("bank-b", 1),
        ],
    )
    .await;
    let made = support::create_payouts(&demo, 12).await;
    support::banks_settled(&demo).await;
    support::drain(&demo, &clock).await;
    let cx = opentelemetry::Context::new();
    let (from, to) = (0, clock_now(&clock) + 1);
    let s = demo.clearing.run(&cx, from, to).await.unwrap();
    let mut expected: std::collections::BTreeMap<String, (u64, i64)> = Default::default();
    for p in &made {
        let e = expected.entry(p.channel.clone().unwrap()).or_default();
        e.0 += 1;
        e.1 += p.request.amount.minor();
    }
    let got: std::collections::BTreeMap<String, (u64, i64)> = s
        .lines
        .iter()
        .map(|l| {
            assert_eq!(l.partner, "trust-1");
            assert_eq!(l.collections.count, 0);
            assert_eq!(l.net, Money(-l.payouts.amount.minor()));
            (
                l.channel.clone(),
                (l.payouts.count, l.payouts.amount.minor()),
            )
        })
        .collect();
    assert_eq!(got, expected);
    // A period is settled once: more payments later do not change it.
    support::create_payouts(&demo, 1).await;
    assert_eq!(demo.clearing.run(&cx, from, to).await.unwrap(), s);
    demo.stop().await;
}

fn clock_now(clock: &taishan_core::ManualClock) -> i64 {
    use taishan_core::Clock;
    clock.now_ms()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repayment_the_loan_cannot_take_is_refunded() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, clock) =
        support::start(dir.path(), vec![ChannelProfile::reliable("bank-a", 1)]).await;
    let gw = demo.url("gateway").unwrap();
    let customer = support::good_customer(4);
    support::post(
        &format!("{gw}/api/applications"),
        json!({"customer": customer, "amount": 2_000_00, "term": 1}),
    )
    .await;
    let (_, dd) = support::post(
        &format!("{gw}/api/drawdowns"),
        json!({"customer": customer, "amount": 1_000_00, "term": 1}),
    )
    .await;
    let drawdown = dd["id"].as_str().unwrap().to_string();
    support::banks_settled(&demo).await;
    support::drain(&demo, &clock).await;
    // The customer pays the whole loan twice (two taps of the button).
    let pay = json!({"drawdown_id": drawdown, "amount": 1_010_00});
    let url = format!("{gw}/api/repayments");
    let (a, b) = tokio::join!(
        support::post(&url, pay.clone()),
        support::post(&url, pay.clone()),
    );
    assert_eq!((a.0, b.0), (201, 201), "{a:?} {b:?}");
    support::banks_settled(&demo).await;
    support::drain(&demo, &clock).await;
    let payments = support::all_payments(&demo);
    let refunds: Vec<_> = payments
        .iter()
        .filter(|p| p.request.purpose == Purpose::Refund)
        .collect();
    assert_eq!(refunds.len(), 1, "{payments:#?}");
    assert_eq!(refunds[0].status, PaymentStatus::Succeeded);
    assert_eq!(refunds[0].request.amount, Money(1_010_00));
    let (_, dd) = support::get(&format!("{gw}/api/drawdowns/{drawdown}")).await;
    assert_eq!(dd["outstanding"], 0);
    // Lent 1000.00, repaid 1000.00 + 10.00 interest; the second payment went back out,
    // reversing its legs: the loan book is empty and 10.00 interest earned.
    let tb = demo.ledger.trial_balance().unwrap();
    assert_eq!(tb.total, Money::ZERO);
    assert_eq!(tb.internal, Money(-10_00));
    let ledger = demo.url("ledger").unwrap();
    let (_, all) = support::get(&format!("{ledger}/accounts")).await;
    let books: Vec<_> = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"].as_str().unwrap().starts_with("loans:"))
        .collect();
    assert_eq!(books.len(), 1, "{all}");
    assert_eq!(books[0]["balance"], 0, "{all}");
    let (_, income) = support::get(&format!("{ledger}/accounts/income:interest")).await;
    assert_eq!(income["balance"], -10_00, "{income}");
    assert!(support::reconcile(&demo).await.differences.is_empty());
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_that_cannot_be_delivered_is_dead_lettered_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, clock) =
        support::start(dir.path(), vec![ChannelProfile::reliable("bank-a", 1)]).await;
    let p = demo
        .payments
        .create(
            &opentelemetry::Context::new(),
            support::payout("dl-1", 300_00),
        )
        .await
        .unwrap();
    // Someone posted under the payment's key by hand, with other legs: the ledger refuses
    // the real posting (409), which no retry can fix.
    demo.ledger
        .post(
            &opentelemetry::Context::new(),
            JournalEntry {
                idempotency_key: format!("payment:{}", p.id),
                reference: None,
                description: "manual".into(),
                legs: vec![
                    Leg {
                        account: "loans:trust-1".into(),
                        amount: Money(1),
                    },
                    Leg {
                        account: "bank:bank-a".into(),
                        amount: Money(-1),
                    },
                ],
            },
        )
        .await
        .unwrap();
    support::banks_settled(&demo).await;
    demo.compensation.sweep().await.unwrap();
    let dead = demo.compensation.dead_letters().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].payment_id, p.id);
    assert!(
        dead[0].last_error.as_deref().unwrap_or("").contains("409"),
        "{dead:?}"
    );
    assert_eq!(demo.compensation.backlog().unwrap().dead_letters, 1);
    // Reconciliation sees the payment missing from the ledger, at its value.
    let report = support::reconcile(&demo).await;
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].value, Money(300_00));
    // An operator's retry puts it back in the queue (where it fails again, for the same reason).
    let api = demo.url("compensation").unwrap();
    let r = reqwest::Client::new()
        .post(format!("{api}/dead-letters/{}/retry", dead[0].id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(demo.compensation.backlog().unwrap().dead_letters, 0);
    clock.advance(std::time::Duration::from_secs(1));
    demo.compensation.sweep().await.unwrap();
    assert_eq!(demo.compensation.backlog().unwrap().dead_letters, 1);
    let r = reqwest::Client::new()
        .post(format!("{api}/dead-letters/999/retry"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    demo.stop().await;
}
