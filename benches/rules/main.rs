//! Rule engine benchmarks (results in BENCHMARKS.md):
//!
//! - `eval`: the cost of evaluating 1,000 rules over 100,000 series per interval, Taishan
//!   and Prometheus (Debian's 2.42) on the same remote-written data and the same rule file,
//!   each read from its own last-duration gauge summed over the groups
//!   (`prometheus_rule_group_last_duration_seconds` / `taishan_rule_group_last_duration_seconds`).
//! - `reaction`: from a sample crossing a threshold (remote-written) to a breaker opening,
//!   with `for: 0`, through the rule engine, the guard control plane and an external app
//!   following it over HTTP long-poll.
//!
//! `cargo bench --bench rules -- --help` explains the options. Loopback only, bounded in time.

#[allow(dead_code)]
#[path = "../measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "../ingest/peers.rs"]
mod peers;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use peers::{Kind, Peer};
use taishan_collector::receivers::prompb;
use taishan_guard::{BreakerConfig, BreakerState, Guards, Transition, TransitionObserver};
use taishan_guard_control::follow_remote;

#[derive(Parser, Debug)]
#[command(about = "Rule engine benchmarks against Prometheus (loopback only, bounded in time)")]
struct Args {
    /// Which: eval, reaction, or all.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Systems measured in the eval scenario; the first is compared with the others.
    #[arg(long, value_delimiter = ',', default_value = "taishan,prometheus")]
    peers: Vec<String>,
    /// Evaluation intervals measured per system (after three of warm-up).
    #[arg(long, default_value_t = 8)]
    intervals: usize,
    /// Trials of the reaction scenario.
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Evaluation interval of the reaction scenario, in seconds.
    #[arg(long, default_value_t = 1)]
    reaction_interval: u64,
    /// cargo bench passes --bench; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const EVAL_EVERY: Duration = Duration::from_secs(15);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn main() {
    let args = Args::parse();
    if matches!(args.scenario.as_str(), "eval" | "all") {
        eval(&args);
    }
    if matches!(args.scenario.as_str(), "reaction" | "all") {
        reaction(&args);
    }
}

/// Sum over lines of `name{...} value` in a /metrics text.
fn metric_sum(text: &str, name: &str) -> (f64, usize) {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold((0.0, 0), |(s, n), v| (s + v, n + 1))
}

fn instant(peer: &Peer, q: &str) -> String {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/query", peer.base))
        .query(&[("query", q)])
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

fn eval(args: &Args) {
    let kinds = Kind::parse_all(&args.peers);
    let fleet = workload::Fleet::new();
    let root = tempfile::tempdir().expect("tempdir");
    let rules = root.path().join("fleet.rules.yaml");
    std::fs::write(&rules, workload::rule_file()).expect("rules");
    // Samples every 15 s from 15 minutes back to 15 minutes ahead: every window the rules
    // read is full while each system is measured.
    let step_ms = 15_000;
    let start = now_ms() - 15 * 60_000;
    eprintln!("generating {} series × 120 samples", fleet.len());
    let requests = fleet.requests(start, 120, step_ms, 1);
    println!(
        "Rule evaluation: {} rules in {} groups every {}s over {} series",
        workload::SERVICES * 10,
        workload::GROUPS,
        EVAL_EVERY.as_secs(),
        fleet.len()
    );
    let mut results: Vec<(Kind, f64, f64)> = Vec::new();
    for kind in kinds {
        let mut peer = Peer::start_with_rules(kind, root.path(), Some((&rules, "15s")));
        let loading = Instant::now();
        peer.remote_write_all(&requests);
        eprintln!(
            "  {} loaded in {:.1}s",
            kind.name(),
            loading.elapsed().as_secs_f64()
        );
        let name = match kind {
            Kind::Prometheus => "prometheus_rule_group_last_duration_seconds",
            _ => "taishan_rule_group_last_duration_seconds",
        };
        let metrics = || {
            reqwest::blocking::Client::new()
                .get(format!("{}/metrics", peer.base))
                .send()
                .and_then(|r| r.text())
                .unwrap_or_default()
        };
        // Warm-up: every group has evaluated at least twice after the data arrived.
        std::thread::sleep(EVAL_EVERY * 3);
        let mut sums = Vec::new();
        for i in 0..args.intervals {
            let (sum, groups) = metric_sum(&metrics(), name);
            eprintln!(
                "  {} interval {i}: {sum:.3}s over {groups} groups",
                kind.name()
            );
            assert_eq!(
                groups,
                workload::GROUPS,
                "{} reports every group",
                kind.name()
            );
            sums.push(sum);
            std::thread::sleep(EVAL_EVERY);
        }
        sums.sort_by(f64::total_cmp);
        let median = sums[sums.len() / 2];
        let max = sums[sums.len() - 1];
        println!(
            "  {:<12} per interval: median {:.3}s, max {:.3}s   (series recorded: {}, alerts active: {}, cpu {:.0}s)",
            kind.name(),
            median,
            max,
            instant(&peer, "count({__name__=~\"service.*|instance.*\"})"),
            instant(&peer, "count(ALERTS)"),
            measure::cpu_seconds(peer.pid()),
        );
        results.push((kind, median, max));
        peer.stop();
    }
    if let Some((first, m, _)) = results.first().copied() {
        for (k, other, _) in &results[1..] {
            println!(
                "  {} / {}: {:.2}× (median per-interval evaluation time)",
                first.name(),
                k.name(),
                m / other
            );
        }
    }
}

/// Sends the moment a breaker opens or closes.
#[derive(Debug)]
struct Stopwatch(std::sync::mpsc::Sender<(&'static str, Instant)>);

impl TransitionObserver for Stopwatch {
    fn on_transition(&self, t: &Transition) {
        let _ = self.0.send((t.to.as_str(), Instant::now()));
    }
}

fn write_signal(peer: &Peer, value: f64) {
    let req = prompb::WriteRequest {
        timeseries: vec![prompb::TimeSeries::new(
            &[("__name__", "bench_signal"), ("job", "reaction")],
            &[(now_ms(), value)],
        )],
    };
    peer.remote_write_all(&[req.to_snappy()]);
}

fn reaction(args: &Args) {
    let root = tempfile::tempdir().expect("tempdir");
    let rules = root.path().join("reaction.rules.yaml");
    let actions = root.path().join("reaction.actions.yaml");
    std::fs::write(
        &rules,
        "groups:\n  - name: reaction\n    rules:\n      - alert: SignalHigh\n        expr: bench_signal > 0.5\n",
    )
    .expect("rules");
    std::fs::write(
        &actions,
        "actions:\n  - alert: SignalHigh\n    do: open_breaker\n    service: bench-app\n    target: switch\n    release_after: 1\n    probe: false\n",
    )
    .expect("actions");
    // Both files through one glob.
    let pattern = root.path().join("reaction.*.yaml");
    let every = format!("{}s", args.reaction_interval);
    let peer = Peer::start_with_rules(Kind::Taishan, root.path(), Some((&pattern, &every)));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (tx, rx) = std::sync::mpsc::channel();
    let guards = Arc::new(Guards::new(
        Arc::new(Stopwatch(tx)),
        Arc::new(taishan_core::SystemClock),
    ));
    let breaker = guards.breaker("switch", BreakerConfig::default());
    let cancel = tokio_util::sync::CancellationToken::new();
    {
        let _entered = runtime.enter();
        follow_remote(
            &peer.base,
            None,
            "bench-app",
            guards.clone(),
            cancel.clone(),
        );
    }
    // The app has reported, so the plane knows it.
    std::thread::sleep(Duration::from_secs(2));
    let mut latencies = Vec::new();
    let wait = |want: &'static str| -> Option<Instant> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match rx.recv_timeout(left) {
                Ok((to, at)) if to == want => return Some(at),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    };
    for trial in 0..args.trials {
        // Start at a different point of the evaluation interval each time.
        let offset = (trial as u64 * 377) % (args.reaction_interval * 1000);
        std::thread::sleep(Duration::from_millis(offset));
        let crossed = Instant::now();
        write_signal(&peer, 1.0);
        let Some(opened) = wait("open") else {
            panic!("the breaker did not open within 30s (trial {trial})");
        };
        latencies.push(opened.duration_since(crossed).as_secs_f64());
        write_signal(&peer, 0.0);
        assert!(wait("closed").is_some(), "the breaker did not close again");
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
    cancel.cancel();
    latencies.sort_by(f64::total_cmp);
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let interval = args.reaction_interval as f64;
    println!(
        "Reaction: sample crossing the threshold → external app's breaker open (for: 0, evaluation every {interval}s, {} trials)",
        latencies.len()
    );
    println!(
        "  p50 {:.3}s  p90 {:.3}s  max {:.3}s  → max beyond the evaluation interval: {:.3}s (target < 1s)",
        p(0.5),
        p(0.9),
        p(1.0),
        (p(1.0) - interval).max(0.0)
    );
}
