//! Query latency benchmark: the same fleet data (10,000 series over a day) in Taishan,
//! Prometheus and VictoriaMetrics (Debian packages) on loopback; typical dashboard and rule
//! queries asked of each in turn, p50 and p99 latency per query and system.
//!
//! `cargo bench --bench query -- --help` explains the options; BENCHMARKS.md records runs.

mod data;
// Shared with the ingest benchmark, which uses the parts this one does not.
#[allow(dead_code)]
#[path = "../measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "../ingest/peers.rs"]
mod peers;

use std::time::{Duration, Instant};

use clap::Parser;
use peers::{Kind, Peer};

#[derive(Parser, Debug)]
#[command(about = "PromQL latency benchmark against real peers (loopback only, bounded in time)")]
struct Args {
    /// Hours of data.
    #[arg(long, default_value_t = 24)]
    hours: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 30)]
    interval: i64,
    /// Times each query is asked of each system.
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    /// Systems to measure; the first is the one compared.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "taishan,prometheus,victoria-metrics"
    )]
    peers: Vec<String>,
    /// Only queries whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// cargo bench passes --bench; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One benchmark query: instant at the end of the data, or a range over the last `range`.
struct Query {
    name: &'static str,
    expr: &'static str,
    range: Option<(Duration, &'static str)>,
}

fn queries() -> Vec<Query> {
    let day = Some((Duration::from_secs(86_400), "60"));
    let hour = Some((Duration::from_secs(3_600), "15"));
    vec![
        Query { name: "rate by job", expr: "sum by (job) (rate(http_requests_total[5m]))", range: None },
        Query { name: "rate by job, 1d@60s", expr: "sum by (job) (rate(http_requests_total[5m]))", range: day },
        Query { name: "p99 latency", expr: "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", range: None },
        Query { name: "p99 latency by job, 1h@15s", expr: "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))", range: hour },
        Query { name: "topk instances", expr: "topk(10, sum by (instance) (rate(http_requests_total[5m])))", range: None },
        Query { name: "join by version", expr: "sum by (version) (rate(http_requests_total[5m]) * on (instance) group_left (version) node_info)", range: None },
        Query { name: "error ratio, 1h@15s", expr: "sum(rate(http_requests_total{code=\"500\"}[5m])) / sum(rate(http_requests_total[5m]))", range: hour },
        Query { name: "regex selector", expr: "sum(rate(http_requests_total{job=~\"job-[1-3]\", method!=\"post\"}[5m]))", range: None },
        Query { name: "avg_over_time 1h", expr: "max by (job) (avg_over_time(queue_depth[1h]))", range: None },
        Query { name: "10k series count, 1d@60s", expr: "count by (job) ({job=~\".+\"})", range: day },
    ]
}

fn main() {
    let args = Args::parse();
    let kinds = Kind::parse_all(&args.peers);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let end = now / 60_000 * 60_000 - 60_000;
    let steps = args.hours * 3600 / args.interval as u64;
    let mut fleet = data::Fleet::new();
    eprintln!("encoding {} series x {steps} samples ...", fleet.len());
    let t = Instant::now();
    let requests = fleet.requests(steps, args.interval * 1000, end, 20);
    eprintln!(
        "encoded {} requests ({:.1} MiB) in {:.1}s",
        requests.len(),
        requests.iter().map(Vec::len).sum::<usize>() as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let root = tempfile::tempdir().expect("tempdir");
    let mut peers: Vec<Peer> = Vec::new();
    for kind in &kinds {
        let peer = Peer::start(*kind, root.path());
        let t = Instant::now();
        peer.remote_write_all(&requests);
        eprintln!(
            "loaded {} in {:.1}s",
            kind.name(),
            t.elapsed().as_secs_f64()
        );
        settle(&peer);
        peers.push(peer);
    }

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let end_s = format!("{}", end / 1000);
    println!(
        "\n| query | {} | ratio {}/{} p50 |",
        kinds
            .iter()
            .map(|k| format!("{} p50 / p99 (ms)", k.name()))
            .collect::<Vec<_>>()
            .join(" | "),
        kinds[0].name(),
        kinds.get(1).map_or("-", |k| k.name())
    );
    println!("|---|{}---|", "---|".repeat(kinds.len()));
    for q in queries() {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !q.name.contains(o.as_str()))
        {
            continue;
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
        let mut answers: Vec<String> = vec![String::new(); peers.len()];
        // Warm-up, then rounds that visit every system in turn so they share the noise.
        for round in 0..=args.repeat {
            for (i, peer) in peers.iter().enumerate() {
                let (path, form) = request(&q, &end_s);
                let t = Instant::now();
                let resp = peer
                    .authorized(client.post(format!("{}{path}", peer.base)))
                    .form(&form)
                    .send();
                let body = resp
                    .and_then(|r| r.text())
                    .unwrap_or_else(|e| format!("error: {e}"));
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if round > 0 {
                    times[i].push(ms);
                } else {
                    answers[i] = summary(&body);
                }
            }
        }
        let stats: Vec<(f64, f64)> = times.iter_mut().map(|t| percentiles(t)).collect();
        let ratio = stats.get(1).map_or(f64::NAN, |p| stats[0].0 / p.0);
        println!(
            "| {} | {} | {:.2} |",
            q.name,
            stats
                .iter()
                .map(|(p50, p99)| format!("{p50:.1} / {p99:.1}"))
                .collect::<Vec<_>>()
                .join(" | "),
            ratio
        );
        eprintln!("  {}: answers {}", q.name, answers.join(" | "));
    }
}

fn request(q: &Query, end_s: &str) -> (&'static str, Vec<(&'static str, String)>) {
    match q.range {
        None => (
            "/api/v1/query",
            vec![("query", q.expr.to_string()), ("time", end_s.to_string())],
        ),
        Some((span, step)) => {
            let end: i64 = end_s.parse().unwrap_or(0);
            (
                "/api/v1/query_range",
                vec![
                    ("query", q.expr.to_string()),
                    ("start", (end - span.as_secs() as i64).to_string()),
                    ("end", end_s.to_string()),
                    ("step", step.to_string()),
                ],
            )
        }
    }
}

/// Series and points in an answer, to see at a glance that the systems agree.
fn summary(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if v["status"] != "success" {
        return format!("ERROR {}", body.chars().take(200).collect::<String>());
    }
    let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
    let points: usize = result
        .iter()
        .map(|s| s["values"].as_array().map_or(1, Vec::len))
        .sum();
    format!("{} series/{} points", result.len(), points)
}

fn percentiles(t: &mut [f64]) -> (f64, f64) {
    if t.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    t.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Lets background work after ingest finish, so it does not run during the measurements:
/// Taishan cuts and compacts its blocks, Prometheus compacts its head, VictoriaMetrics
/// flushes.
fn settle(peer: &Peer) {
    let client = reqwest::blocking::Client::new();
    match peer.kind {
        Kind::Taishan | Kind::TaishanBearer => {
            for path in ["/api/v1/admin/tsdb/flush", "/api/v1/admin/tsdb/compact"] {
                let _ = peer
                    .authorized(client.post(format!("{}{path}", peer.base)))
                    .send();
            }
        }
        Kind::VictoriaMetrics => {
            let _ = client
                .get(format!("{}/internal/force_flush", peer.base))
                .send();
        }
        Kind::Prometheus => {
            // The head compacts into 2h blocks once it spans 3h; wait until it has.
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(600) {
                let m = client
                    .get(format!("{}/metrics", peer.base))
                    .send()
                    .and_then(|r| r.text())
                    .unwrap_or_default();
                let (min, max) = (
                    metric(&m, "prometheus_tsdb_head_min_time"),
                    metric(&m, "prometheus_tsdb_head_max_time"),
                );
                if max - min <= 3.0 * 3_600_000.0 {
                    break;
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    }
    std::thread::sleep(Duration::from_secs(5));
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
