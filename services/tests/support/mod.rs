//! Starting the services for a test: free loopback ports, a manual clock, no telemetry
//! export, workers driven by the test.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use taishan_chaos::ChannelProfile;
use taishan_core::{Clock, ManualClock};
use taishan_services::payment::{Payment, PaymentFilter};
use taishan_services::{Demo, DemoOptions, TelemetryConfig};
use taishan_services::{DemoConfig, TrafficConfig};
use tokio_util::sync::CancellationToken;

/// A customer the model approves for up to 100 000.00 (a bureau score of 700 or more).
pub fn good_customer(n: u32) -> String {
    (0..)
        .map(|i| format!("c-{n}-{i}"))
        .find(|c| taishan_services::risk::bureau_score(c) >= 700)
        .expect("some name scores well")
}

/// The demo on free ports with `channels`, a manual clock at a fixed time, no traffic and
/// no background workers.
pub async fn start(
    dir: &std::path::Path,
    channels: Vec<ChannelProfile>,
) -> (Demo, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(1_750_000_000_000));
    let demo = start_with_clock(dir, channels, clock.clone()).await;
    (demo, clock)
}

/// Like [`start`], on a given clock (a restart keeps time).
pub async fn start_with_clock(
    dir: &std::path::Path,
    channels: Vec<ChannelProfile>,
    clock: Arc<ManualClock>,
) -> Demo {
    start_with_faults(dir, channels, clock, None).await
}

/// Like [`start_with_clock`], with the services consulting `faults` (and the payment→ledger
/// link through its fault proxy).
pub async fn start_with_faults(
    dir: &std::path::Path,
    channels: Vec<ChannelProfile>,
    clock: Arc<ManualClock>,
    faults: Option<taishan_chaos::FaultSet>,
) -> Demo {
    let config = DemoConfig {
        base_port: 0,
        channels,
        traffic: TrafficConfig {
            seed: Some(7),
            ..TrafficConfig::default()
        },
        ..DemoConfig::default()
    };
    let options = DemoOptions {
        config,
        data_dir: dir.to_path_buf(),
        telemetry: TelemetryConfig {
            otlp_endpoint: None,
            ..TelemetryConfig::default()
        },
        traffic: false,
        workers: false,
        control: None,
        faults,
    };
    let clock: Arc<dyn Clock> = clock;
    Demo::start(options, clock, CancellationToken::new())
        .await
        .expect("the demo starts")
}

/// POSTs JSON to `url` (with the demo API key) and returns the status and body.
pub async fn post(url: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("x-api-key", "demo-mobile-app")
        .json(&body)
        .send()
        .await
        .expect("the service answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// GETs `url` and returns the status and body.
pub async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(url)
        .header("x-api-key", "demo-mobile-app")
        .send()
        .await
        .expect("the service answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits (real time: the simulated banks settle on their own timers) until every payment
/// is final at its bank, or panics after 20 s.
pub async fn banks_settled(demo: &Demo) {
    for _ in 0..400 {
        let open = all_payments(demo)
            .iter()
            .filter(|p| p.channel.is_some())
            .filter(|p| {
                let c = p.channel.as_deref().unwrap_or_default();
                demo.banks
                    .transfer(c, &p.id)
                    .map(|t| t.settled_ms.is_none())
                    .unwrap_or(false)
            })
            .count();
        if open == 0 {
            // Give callbacks in flight a moment to land.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("banks did not settle within 20s");
}

/// Every payment.
pub fn all_payments(demo: &Demo) -> Vec<Payment> {
    demo.payments
        .list(&PaymentFilter::default())
        .expect("payments list")
}

/// Runs compensation sweeps, moving the clock past `stuck_after` each time, until nothing
/// is owed (or panics after 50 sweeps).
pub async fn drain(demo: &Demo, clock: &ManualClock) {
    for _ in 0..50 {
        let b = demo.compensation.backlog().expect("backlog");
        if b.outbox == 0 && b.open_payments == 0 {
            return;
        }
        clock.advance(Duration::from_secs(400));
        demo.compensation.sweep().await.expect("sweep");
        banks_settled(demo).await;
    }
    let b = demo.compensation.backlog().expect("backlog");
    panic!("compensation did not drain: {b:?}");
}

/// A disbursement request of `amount` minor units under key `key`.
pub fn payout(key: &str, amount: i64) -> taishan_services::payment::PaymentRequest {
    taishan_services::payment::PaymentRequest {
        idempotency_key: key.into(),
        purpose: taishan_services::payment::Purpose::Disbursement,
        customer: format!("cust-{key}"),
        account: "6222000011112222".into(),
        partner: "trust-1".into(),
        amount: taishan_services::Money(amount),
        interest: taishan_services::Money::ZERO,
        notify_url: None,
    }
}

/// Creates `n` payouts concurrently (keys `p-0`.., amounts 100.00 + i fen).
pub async fn create_payouts(demo: &Demo, n: usize) -> Vec<Payment> {
    let cx = opentelemetry::Context::new();
    let calls = (0..n).map(|i| {
        let req = payout(&format!("p-{i}"), 100_00 + i as i64);
        let payments = demo.payments.clone();
        let cx = cx.clone();
        tokio::spawn(async move { payments.create(&cx, req).await })
    });
    let mut out = Vec::new();
    for c in calls {
        out.push(c.await.expect("task").expect("payment created"));
    }
    out
}

/// Which channels hold a transfer for each payment id.
pub fn holders(demo: &Demo, id: &str) -> Vec<(String, taishan_services::bank::Transfer)> {
    demo.banks
        .names()
        .into_iter()
        .filter_map(|c| demo.banks.transfer(&c, id).ok().map(|t| (c, t)))
        .collect()
}

/// Reconciles everything created so far.
pub async fn reconcile(demo: &Demo) -> taishan_services::reconciliation::Report {
    demo.reconciliation
        .run(&opentelemetry::Context::new(), 0, i64::MAX / 2)
        .await
        .expect("reconciliation runs")
}

/// Each guard's name and state.
pub fn guard_states(guards: &taishan_guard::Guards) -> Vec<(String, &'static str)> {
    guards
        .snapshot()
        .into_iter()
        .map(|s| (s.name.to_string(), s.state.as_str()))
        .collect()
}
