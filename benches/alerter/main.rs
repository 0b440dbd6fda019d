//! Alerter benchmark against Debian's Alertmanager 0.25, both started on free loopback ports
//! with the same `alertmanager.yml` (group by `alertname`, `group_wait: 0s`, one webhook),
//! the webhook served by this process:
//!
//! - **accepted**: `--alerts` alerts over `--groups` alert names posted to
//!   `POST /api/v2/alerts` in batches of `--batch` by `--clients` concurrent clients, the
//!   whole set `--rounds` times (as Prometheus re-sends firing alerts); alerts/s from the
//!   first request to the last answer.
//! - **delivered**: `--new-groups` alerts of new names posted at once (batches of
//!   `--batch`, one client); notifications/s from the first post to the webhook having
//!   received one notification for every new group.
//! - **latency**: `--trials` times, one alert of a new name posted and timed until its
//!   notification reaches the webhook.
//!
//! - **on-call, with the demo**: `--oncall-seconds` of `taishan up` with the demo and 20
//!   toggling rules routed to an on-call team; each page timed from its alert's firing.
//!
//! `cargo bench --bench alerter -- --help`. Loopback only, bounded in count.

#[allow(dead_code)]
#[path = "../measure.rs"]
mod measure;
mod oncall;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use clap::Parser;
use parking_lot::Mutex;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(about = "Alerter benchmark against Alertmanager 0.25 (loopback only, bounded in count)")]
struct Args {
    /// Alerts posted in the throughput phase.
    #[arg(long, default_value_t = 50_000)]
    alerts: usize,
    /// Distinct alert names (groups) among them.
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    /// Times the whole set is posted (the rounds after the first update held alerts).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Alerts per request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// New groups posted at once in the delivery phase, one alert each.
    #[arg(long, default_value_t = 10_000)]
    new_groups: usize,
    /// Latency trials.
    #[arg(long, default_value_t = 200)]
    trials: usize,
    /// Seconds of the demo phase (a rule's alert firing to the on-call webhook); 0 skips it.
    #[arg(long, default_value_t = 60)]
    oncall_seconds: u64,
    /// cargo bench passes --bench; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Arrival time of the first notification of each group key.
#[derive(Clone, Default)]
struct Sink {
    first: Arc<Mutex<HashMap<String, Instant>>>,
    total: Arc<Mutex<usize>>,
}

async fn receive(State(sink): State<Sink>, body: axum::body::Bytes) {
    let at = Instant::now();
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(name) = v["groupLabels"]["alertname"].as_str() {
        sink.first.lock().entry(name.to_string()).or_insert(at);
    }
    *sink.total.lock() += 1;
}

async fn start_sink() -> (Sink, String) {
    let sink = Sink::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind sink");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sink, url)
}

fn config(hook: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 5m\n  repeat_interval: 4h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {hook}\n"
    )
}

struct System {
    name: &'static str,
    base: String,
    _process: Process,
}

/// Kept alive for the measurement; stopped when dropped.
enum Process {
    Taishan { _running: measure::Taishan },
    Alertmanager(Child),
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Process::Alertmanager(c) = self {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_alertmanager(dir: &std::path::Path, hook: &str) -> System {
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(&cfg, config(hook)).expect("config");
    let port = measure::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus-alertmanager (Debian package prometheus-alertmanager)");
    wait_ready(&base);
    System {
        name: "alertmanager",
        base,
        _process: Process::Alertmanager(child),
    }
}

fn start_taishan(dir: &std::path::Path, hook: &str) -> System {
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(&cfg, config(hook)).expect("config");
    let t = measure::start_taishan(
        dir,
        &format!("alerter:\n  config_file: {}\n", cfg.display()),
    );
    let base = t.alerter.clone();
    wait_ready(&base);
    System {
        name: "taishan",
        base,
        _process: Process::Taishan { _running: t },
    }
}

fn wait_ready(base: &str) {
    let c = reqwest::blocking::Client::new();
    let started = Instant::now();
    while !c
        .get(format!("{base}/-/ready"))
        .send()
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{base} did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `alerts` alerts over `groups` alert names starting with `prefix`, as request bodies of
/// `batch` alerts.
fn batches(alerts: usize, groups: usize, batch: usize, prefix: &str) -> Vec<Vec<u8>> {
    let alerts: Vec<Value> = (0..alerts)
        .map(|i| {
            json!({
                "labels": {
                    "alertname": format!("{prefix}{}", i % groups),
                    "instance": format!("host-{i}"),
                    "service": "payment",
                    "severity": "page",
                },
                "annotations": {"summary": "payments failing"},
            })
        })
        .collect();
    alerts
        .chunks(batch)
        .map(|c| serde_json::to_vec(c).expect("json"))
        .collect()
}

struct Outcome {
    accepted_per_s: f64,
    delivered_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Posts `bodies`, `rounds` times over, from `clients` concurrent clients; the time taken.
async fn post_all(base: &str, bodies: Vec<Vec<u8>>, rounds: usize, clients: usize) -> Duration {
    let client = reqwest::Client::new();
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, bodies, next, url) = (
            client.clone(),
            bodies.clone(),
            next.clone(),
            format!("{base}/api/v2/alerts"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= bodies.len() * rounds {
                    return;
                }
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(bodies[i % bodies.len()].clone())
                    .send()
                    .await
                    .expect("post alerts");
                assert!(r.status().is_success(), "{url}: {}", r.status());
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    started.elapsed()
}

/// Waits until the webhook heard of `n` groups in all; the arrival of the last.
async fn notified(sys: &System, sink: &Sink, n: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (heard, last) = {
            let first = sink.first.lock();
            (first.len(), first.values().max().copied())
        };
        if let (true, Some(last)) = (heard >= n, last) {
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "{}: only {heard} of {n} groups notified",
            sys.name,
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn measure_system(sys: &System, sink: &Sink, args: &Args) -> Outcome {
    // Accepted: the same alerts again and again, as Prometheus re-sends what fires.
    let bodies = batches(args.alerts, args.groups, args.batch, "Load");
    let accepted = post_all(&sys.base, bodies, args.rounds.max(1), args.clients).await;
    notified(sys, sink, args.groups).await;
    // Delivered: a burst of new groups, each notified at once.
    let bodies = batches(args.new_groups, args.new_groups, args.batch, "Burst");
    let started = Instant::now();
    post_all(&sys.base, bodies, 1, 1).await;
    let last = notified(sys, sink, args.groups + args.new_groups).await;
    let delivered = last.duration_since(started);
    let client = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(args.trials);
    for trial in 0..args.trials {
        let name = format!("Latency{trial}");
        let body = json!([{"labels": {"alertname": name, "service": "payment"}}]);
        let t0 = Instant::now();
        let r = client
            .post(format!("{}/api/v2/alerts", sys.base))
            .json(&body)
            .send()
            .await
            .expect("post");
        assert!(r.status().is_success());
        loop {
            if let Some(at) = sink.first.lock().get(&name) {
                latencies.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{}: no notification for {name}",
                sys.name
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    Outcome {
        accepted_per_s: (args.alerts * args.rounds.max(1)) as f64 / accepted.as_secs_f64(),
        delivered_per_s: args.new_groups as f64 / delivered.as_secs_f64(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "alerter: {} alerts in {} groups, posted {} times in batches of {} by {} clients; {} new groups; {} latency trials",
            args.alerts, args.groups, args.rounds, args.batch, args.clients, args.new_groups, args.trials
        );
        let mut results = Vec::new();
        for which in ["taishan", "alertmanager"] {
            let dir = tempfile::tempdir().expect("tempdir");
            let (sink, hook) = start_sink().await;
            let sys = match which {
                "taishan" => start_taishan(dir.path(), &hook),
                _ => start_alertmanager(dir.path(), &hook),
            };
            let o = measure_system(&sys, &sink, &args).await;
            println!(
                "  {:<13} accepted {:>9.0} alerts/s  delivered {:>7.0} notifications/s  latency p50 {:.2} ms  p99 {:.2} ms  ({} notifications)",
                sys.name, o.accepted_per_s, o.delivered_per_s, o.p50_ms, o.p99_ms, *sink.total.lock()
            );
            results.push(o);
        }
        let (t, a) = (&results[0], &results[1]);
        println!(
            "taishan / alertmanager: accepted {:.1}x, delivered {:.1}x, latency p99 {:.2} vs {:.2} ms",
            t.accepted_per_s / a.accepted_per_s,
            t.delivered_per_s / a.delivered_per_s,
            t.p99_ms,
            a.p99_ms
        );
        if args.oncall_seconds > 0 {
            let l = oncall::measure(args.oncall_seconds).await;
            let pct = |q: f64| l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
            println!(
                "demo, rule firing -> on-call webhook: {} pages in {} s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                l.len(),
                args.oncall_seconds,
                pct(0.5),
                pct(0.99),
                l.last().copied().unwrap_or(f64::NAN)
            );
        }
    });
}
