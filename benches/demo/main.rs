//! Sustained end-to-end throughput of the demo services, and what their instrumentation
//! costs.
//!
//! `cargo bench --bench demo -- --seconds 20 --concurrency 32`
//!
//! Starts Taishan (`up --no-demo`) as the telemetry receiver, then runs the services in this
//! process twice on fresh data: with their OpenTelemetry exporting to Taishan ("on") and
//! with no exporter ("off"). Each run drives drawdowns through the gateway from
//! `--concurrency` closed-loop customers for `--seconds`; a transfer counts when its
//! payment is final. Reports transfers/s, this process's CPU per transfer in both runs (the
//! difference is the instrumentation's share) and Taishan's CPU per transfer for taking the
//! telemetry in.
#![allow(clippy::inconsistent_digit_grouping)]

#[path = "../measure.rs"]
#[allow(dead_code)]
mod measure;

/// The allocator the `taishan` binary runs the services with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use measure::{cpu_seconds, start_taishan, Taishan};
use taishan_chaos::ChannelProfile;
use taishan_core::{Clock, SystemClock};
use taishan_services::payment::{PaymentFilter, PaymentStatus};
use taishan_services::DemoConfig;
use taishan_services::{Demo, DemoOptions, TelemetryConfig};
use tokio_util::sync::CancellationToken;

struct Args {
    seconds: u64,
    concurrency: usize,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 20,
        concurrency: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok());
        match flag.as_str() {
            "--seconds" => a.seconds = value().expect("--seconds N"),
            "--concurrency" => a.concurrency = value().expect("--concurrency N") as usize,
            // cargo bench passes --bench; other flags are criterion's, not ours.
            _ => {}
        }
    }
    a
}

/// Spans Taishan has counted (its RED series derived from the spans it stored).
fn spans_received(taishan: &Taishan) -> f64 {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/query", taishan.base))
        .query(&[("query", "sum(traces_span_metrics_calls_total)")])
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0.0)
}

struct Run {
    transfers: u64,
    posted: u64,
    seconds: f64,
    cpu: f64,
    receiver_cpu: f64,
}

async fn run(dir: &Path, endpoint: Option<String>, a: &Args, receiver_pid: u32) -> Run {
    let channel = |name: &str| ChannelProfile {
        latency: Duration::from_millis(5),
        settle_after: Duration::from_millis(20),
        ..ChannelProfile::reliable(name, 1)
    };
    let options = DemoOptions {
        config: DemoConfig {
            base_port: 0,
            // The load is all one key: the gateway's limit must not be what is measured.
            gateway_rate_per_key: 1e6,
            channels: vec![channel("bank-a"), channel("bank-b"), channel("bank-c")],
            ..DemoConfig::default()
        },
        data_dir: dir.to_path_buf(),
        telemetry: TelemetryConfig {
            otlp_endpoint: endpoint,
            ..TelemetryConfig::default()
        },
        traffic: false,
        workers: true,
        control: None,
        faults: None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let demo = Demo::start(options, clock, CancellationToken::new())
        .await
        .expect("demo starts");
    let gw = demo.url("gateway").expect("gateway");
    let http = reqwest::Client::new();
    // Customers with large lines, so the load is drawdowns (one pay-out each).
    let mut customers = Vec::new();
    let mut n = 0;
    while customers.len() < a.concurrency {
        let c = format!("bench-{n}");
        n += 1;
        if taishan_services::risk::bureau_score(&c) < 850 {
            continue;
        }
        let r = http
            .post(format!("{gw}/api/applications"))
            .header("x-api-key", "demo-mobile-app")
            .json(&serde_json::json!({"customer": c, "amount": 150_000_00, "term": 3}))
            .send()
            .await
            .expect("apply");
        let v: serde_json::Value = r.json().await.expect("json");
        if v["decision"]["verdict"] == "approved" {
            customers.push(c);
        }
    }
    let started_ms = SystemClock.now_ms();
    let cpu0 = cpu_seconds(std::process::id());
    let rcpu0 = cpu_seconds(receiver_pid);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(a.seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = customers
        .into_iter()
        .map(|c| {
            let (http, gw, sent) = (http.clone(), gw.clone(), sent.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let r = http
                        .post(format!("{gw}/api/drawdowns"))
                        .header("x-api-key", "demo-partner-portal")
                        .json(&serde_json::json!({"customer": c, "amount": 10_00, "term": 3}))
                        .send()
                        .await;
                    if r.is_ok_and(|r| r.status().is_success()) {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    // Count what became final in the window (callbacks land within tens of ms).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(std::process::id()) - cpu0;
    let receiver_cpu = cpu_seconds(receiver_pid) - rcpu0;
    let transfers = demo
        .payments
        .list(&PaymentFilter {
            created_from_ms: Some(started_ms),
            status: Some(PaymentStatus::Succeeded),
            ..PaymentFilter::default()
        })
        .expect("payments")
        .len() as u64;
    let posted = demo.ledger.trial_balance().expect("trial balance").entries as u64;
    demo.stop().await;
    eprintln!(
        "  {} drawdowns accepted, {transfers} transfers final, {posted} posted to the ledger in {seconds:.1}s",
        sent.load(Ordering::Relaxed)
    );
    Run {
        transfers,
        posted,
        seconds,
        cpu,
        receiver_cpu,
    }
}

fn total(runs: &[Run]) -> Run {
    Run {
        transfers: runs.iter().map(|r| r.transfers).sum(),
        posted: runs.iter().map(|r| r.posted).sum(),
        seconds: runs.iter().map(|r| r.seconds).sum(),
        cpu: runs.iter().map(|r| r.cpu).sum(),
        receiver_cpu: runs.iter().map(|r| r.receiver_cpu).sum(),
    }
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let taishan = start_taishan(dir.path(), "");
    let pid = taishan.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Alternating, twice each, so that warm-up and drift fall on both sides.
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..2 {
        eprintln!("instrumentation off (no exporter), round {}:", round + 1);
        off.push(rt.block_on(run(&dir.path().join(format!("off-{round}")), None, &a, pid)));
        eprintln!("instrumentation on (OTLP to Taishan), round {}:", round + 1);
        let endpoint = Some(taishan.http.clone());
        on.push(rt.block_on(run(
            &dir.path().join(format!("on-{round}")),
            endpoint,
            &a,
            pid,
        )));
    }
    let (on, off) = (total(&on), total(&off));
    // The span-derived series are written every 15 s: wait for the last ones.
    std::thread::sleep(Duration::from_secs(16));
    let spans = spans_received(&taishan);
    let per = |r: &Run| r.cpu * 1000.0 / r.transfers.max(1) as f64;
    println!("| run | transfers final/s | posted to the ledger/s | service CPU ms / transfer | Taishan CPU ms / transfer |");
    println!("|---|---|---|---|---|");
    for (name, r) in [("instrumentation on", &on), ("instrumentation off", &off)] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} | {:.2} |",
            r.transfers as f64 / r.seconds,
            r.posted as f64 / r.seconds,
            per(r),
            r.receiver_cpu * 1000.0 / r.transfers.max(1) as f64
        );
    }
    let share = (per(&on) - per(&off)) / per(&on) * 100.0;
    println!("instrumentation share of the services' CPU: {share:.0}%");
    println!(
        "spans Taishan received in the instrumented runs: {spans:.0} ({:.1} per transfer, {:.0}/s)",
        spans / on.transfers.max(1) as f64,
        spans / on.seconds
    );
}
