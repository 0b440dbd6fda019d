//! The faults that act on the services themselves: a crashed module refuses connections
//! and comes back, postings to a ledger that cannot be reached wait in the outbox without
//! spending their tries, and the payment→ledger link is a real fault proxy.
#![allow(clippy::inconsistent_digit_grouping)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use taishan_chaos::ChannelProfile;
use taishan_chaos::{FaultSet, FaultSpec, Scope};
use taishan_core::ManualClock;
use taishan_services::{Demo, Money, LEDGER_LINK};

async fn demo(dir: &std::path::Path) -> (Demo, Arc<ManualClock>, FaultSet) {
    let clock = Arc::new(ManualClock::at(1_750_000_000_000));
    let faults = FaultSet::new(clock.clone(), 11);
    let channels = vec![ChannelProfile::reliable("bank-a", 1)];
    let demo = support::start_with_faults(dir, channels, clock.clone(), Some(faults.clone())).await;
    (demo, clock, faults)
}

fn arm(faults: &FaultSet, service: &str, fault: &str) -> String {
    let spec: FaultSpec = serde_json::from_str(fault).unwrap();
    faults
        .arm(
            spec,
            Scope::service(service),
            Duration::from_secs(600),
            "test",
        )
        .unwrap()
        .id
}

/// Whether the ledger answers (false: the connection is refused or cut).
async fn ledger_answers(demo: &Demo) -> bool {
    let url = format!("{}/trial-balance", demo.url("ledger").unwrap());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    client.get(url).send().await.is_ok()
}

async fn eventually_answers(demo: &Demo) -> bool {
    let from = Instant::now();
    while from.elapsed() < Duration::from_secs(10) {
        if ledger_answers(demo).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_module_refuses_connections_until_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _clock, faults) = demo(dir.path()).await;
    assert!(ledger_answers(&demo).await);
    // Back by itself after restart_after.
    arm(
        &faults,
        "ledger",
        r#"{"kind": "crash", "restart_after": "300ms"}"#,
    );
    assert!(!ledger_answers(&demo).await, "a crashed ledger refuses");
    assert!(eventually_answers(&demo).await, "restarted on its address");
    faults.disarm_all();
    // Back at once when the fault is reverted (the kill switch here).
    arm(
        &faults,
        "ledger",
        r#"{"kind": "crash", "restart_after": "1h"}"#,
    );
    assert!(!ledger_answers(&demo).await);
    assert_eq!(faults.disarm_all(), 1);
    assert!(eventually_answers(&demo).await);
    // Only modules that run here can crash.
    let spec: FaultSpec = serde_json::from_str(r#"{"kind": "crash"}"#).unwrap();
    let e = faults
        .arm(
            spec,
            Scope::service("mainframe"),
            Duration::from_secs(5),
            "t",
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("\"mainframe\"") && e.to_string().contains("ledger"),
        "{e}"
    );
    demo.stop().await;
}

/// Sweeps with the clock moved on `step` each time, `n` times.
async fn sweeps(demo: &Demo, clock: &ManualClock, n: usize, step: Duration) {
    for _ in 0..n {
        clock.advance(step);
        demo.compensation.sweep().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postings_wait_for_a_cut_ledger_link_without_spending_their_tries() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, clock, faults) = demo(dir.path()).await;
    assert_eq!(demo.links.len(), 1);
    assert_eq!(demo.links[0].0, LEDGER_LINK);
    // Reset every connection on the payment→ledger link: the ledger itself is up.
    let cut = arm(&faults, LEDGER_LINK, r#"{"kind": "net_reset"}"#);
    let paid = support::create_payouts(&demo, 12).await;
    support::banks_settled(&demo).await;
    // Five minutes of sweeps: without the breaker each posting would have spent its 8
    // tries and become a dead letter.
    sweeps(&demo, &clock, 30, Duration::from_secs(10)).await;
    let backlog = demo.compensation.backlog().unwrap();
    assert_eq!(backlog.outbox, 12, "{backlog:?}");
    assert_eq!(backlog.dead_letters, 0, "{backlog:?}");
    let states = support::guard_states(demo.compensation.guards());
    assert!(
        states.iter().any(|(g, s)| g == "ledger" && *s != "closed"),
        "{states:?}"
    );
    assert_eq!(demo.ledger.trial_balance().unwrap().internal, Money::ZERO);
    // The link heals: every posting arrives, once.
    faults.disarm(&cut).unwrap();
    for _ in 0..30 {
        sweeps(&demo, &clock, 1, Duration::from_secs(11)).await;
        if demo.compensation.backlog().unwrap().outbox == 0 {
            break;
        }
    }
    let backlog = demo.compensation.backlog().unwrap();
    assert_eq!(
        (backlog.outbox, backlog.dead_letters),
        (0, 0),
        "{backlog:?}"
    );
    let lent: i64 = paid.iter().map(|p| p.request.amount.minor()).sum();
    let tb = demo.ledger.trial_balance().unwrap();
    assert_eq!((tb.total, tb.internal), (Money::ZERO, Money(lent)));
    let report = support::reconcile(&demo).await;
    assert!(report.differences.is_empty(), "{:#?}", report.differences);
    demo.stop().await;
}
