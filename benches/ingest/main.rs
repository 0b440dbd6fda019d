//! Whole-system ingest benchmark: the same remote-write traffic against Taishan,
//! VictoriaMetrics and Prometheus (Debian packages), each started here on loopback.
//!
//! `cargo bench --bench ingest -- --help` explains the options; BENCHMARKS.md records runs.

mod data;
// Shared with the query and rules benchmarks, which use parts this one does not.
#[allow(dead_code)]
mod peers;
// Shared with the other benchmarks; CPU time is only the telemetry one's.
#[allow(dead_code)]
#[path = "../measure.rs"]
mod measure;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use measure::disk_bytes;
use peers::{Kind, Peer};

#[derive(Parser, Debug)]
#[command(
    about = "Remote-write ingest benchmark against real peers (loopback only, bounded in time)"
)]
struct Args {
    /// Active series (100 per simulated node-exporter host).
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// Samples per series.
    #[arg(long, default_value_t = 180)]
    steps: u64,
    /// Time between a series' samples, in seconds.
    #[arg(long, default_value_t = 60)]
    interval: i64,
    /// Concurrent senders; each series always goes through the same one (as Prometheus shards).
    #[arg(long, default_value_t = 4)]
    shards: usize,
    /// Samples per request.
    #[arg(long, default_value_t = 2000)]
    per_request: usize,
    /// Systems to measure, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "taishan,victoria-metrics,prometheus"
    )]
    peers: Vec<String>,
    /// Give up on a peer after this many seconds of sending.
    #[arg(long, default_value_t = 900)]
    max_seconds: u64,
    /// Runs per peer; the run with the median throughput is reported (each on a fresh store).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Skip persisting and measuring disk (for the scale scenario).
    #[arg(long)]
    no_disk: bool,
    /// cargo bench passes --bench; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

struct Outcome {
    kind: Kind,
    seconds: f64,
    samples: u64,
    retries: u64,
    failures: u64,
    rss: u64,
    disk: Option<(u64, &'static str)>,
    query_ms: f64,
    query_ok: bool,
}

fn main() {
    let args = Args::parse();
    let kinds = Kind::parse_all(&args.peers);
    let hosts = args.series.div_ceil(100);
    let fleet = data::node_exporter_fleet(hosts);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let end = now / 1000 * 1000;
    eprintln!(
        "encoding {} series x {} samples ...",
        fleet.len(),
        args.steps
    );
    let t = Instant::now();
    let shards = data::encode_requests(
        &fleet,
        args.steps,
        args.interval * 1000,
        end,
        args.shards,
        args.per_request,
    );
    let total_bytes: usize = shards.iter().flatten().map(|b| b.len()).sum();
    eprintln!(
        "encoded {} requests, {:.1} MiB compressed, in {:.1}s",
        shards.iter().map(Vec::len).sum::<usize>(),
        total_bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let samples = fleet.len() as u64 * args.steps;
    let root = tempfile::tempdir().expect("tempdir");
    let probe = fleet[fleet.len() / 2].labels.clone();
    let mut results = Vec::new();
    for kind in kinds {
        let mut runs = Vec::new();
        for run in 0..args.repeat.max(1) {
            eprintln!(
                "== {} (run {} of {})",
                kind.name(),
                run + 1,
                args.repeat.max(1)
            );
            let run_dir = root.path().join(format!("run{run}"));
            std::fs::create_dir_all(&run_dir).expect("run dir");
            let mut peer = Peer::start(kind, &run_dir);
            let (seconds, retries, failures) = send_all(
                &peer.write_url(),
                peer.authorization.clone(),
                &shards,
                Duration::from_secs(args.max_seconds),
            );
            std::thread::sleep(Duration::from_secs(3));
            let rss = peer.rss_bytes();
            let (query_ms, query_ok) = probe_query(&peer, &probe, end);
            let disk = (!args.no_disk).then(|| {
                let how = peer.persist();
                (disk_bytes(&peer.dir), how)
            });
            peer.stop();
            let _ = std::fs::remove_dir_all(&run_dir);
            let o = Outcome {
                kind,
                seconds,
                samples,
                retries,
                failures,
                rss,
                disk,
                query_ms,
                query_ok,
            };
            report_one(&o, fleet.len());
            runs.push(o);
        }
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let median = runs.swap_remove(runs.len() / 2);
        results.push(median);
    }
    report_table(&results, fleet.len(), &args);
}

/// Sends every shard's requests in order, shards concurrently. Returns wall seconds,
/// retries (429/5xx) and failed requests.
fn send_all(
    url: &str,
    authorization: Option<String>,
    shards: &[Vec<bytes::Bytes>],
    limit: Duration,
) -> (f64, u64, u64) {
    let requests: u64 = shards.iter().map(|s| s.len() as u64).sum();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sent = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for bodies in shards {
            let (client, url, bodies) = (client.clone(), url.to_string(), bodies.clone());
            let authorization = authorization.clone();
            let (sent, retries, failures) = (sent.clone(), retries.clone(), failures.clone());
            tasks.push(tokio::spawn(async move {
                for body in bodies {
                    loop {
                        if start.elapsed() > limit {
                            return;
                        }
                        let mut request = client.post(&url);
                        if let Some(a) = &authorization {
                            request = request.header("Authorization", a);
                        }
                        let r = request
                            .header("Content-Encoding", "snappy")
                            .header("Content-Type", "application/x-protobuf")
                            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                            .body(body.clone())
                            .send()
                            .await;
                        match r {
                            Ok(resp) if resp.status().is_success() => break,
                            Ok(resp)
                                if resp.status().as_u16() == 429
                                    || resp.status().is_server_error() =>
                            {
                                retries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            Ok(resp) => {
                                let status = resp.status();
                                let text = resp.text().await.unwrap_or_default();
                                if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                                    eprintln!("  request refused: {status} {text}");
                                }
                                break;
                            }
                            Err(e) => {
                                retries.fetch_add(1, Ordering::Relaxed);
                                eprintln!("  request error: {e}");
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let progress = {
            let sent = sent.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    let s = sent.load(Ordering::Relaxed);
                    eprintln!(
                        "  {:>5.1}% of requests sent, {:.0}s",
                        s as f64 * 100.0 / requests as f64,
                        start.elapsed().as_secs_f64()
                    );
                }
            })
        };
        for t in tasks {
            let _ = t.await;
        }
        progress.abort();
    });
    (
        start.elapsed().as_secs_f64(),
        retries.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
    )
}

/// Reads one series back at the last timestamp: proves the data is queryable and times it.
fn probe_query(peer: &Peer, labels: &[(String, String)], end_ms: i64) -> (f64, bool) {
    let selector = format!(
        "{{{}}}",
        labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let start = Instant::now();
    let answer: Option<serde_json::Value> = peer
        .authorized(client.get(format!("{}/api/v1/query", peer.base)))
        .query(&[
            ("query", selector.as_str()),
            ("time", &(end_ms as f64 / 1000.0).to_string()),
        ])
        .send()
        .ok()
        .and_then(|r| r.json().ok());
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let ok = answer
        .as_ref()
        .and_then(|a| a["data"]["result"].as_array())
        .is_some_and(|r| r.len() == 1);
    (ms, ok)
}

fn report_one(o: &Outcome, series: usize) {
    eprintln!(
        "  {}: {:.0} samples/s ({} samples in {:.1}s, {} retries, {} failed requests); RSS {:.0} MiB = {:.0} B/series; probe query {:.1} ms ({})",
        o.kind.name(),
        o.samples as f64 / o.seconds,
        o.samples,
        o.seconds,
        o.retries,
        o.failures,
        o.rss as f64 / 1048576.0,
        o.rss as f64 / series as f64,
        o.query_ms,
        if o.query_ok { "found" } else { "NOT FOUND" },
    );
    if let Some((bytes, how)) = o.disk {
        eprintln!(
            "  disk {:.1} MiB = {:.3} B/sample ({how})",
            bytes as f64 / 1048576.0,
            bytes as f64 / o.samples as f64
        );
    }
}

fn report_table(results: &[Outcome], series: usize, args: &Args) {
    println!();
    println!(
        "{} series x {} samples ({}s apart), {} senders x {} samples/request, median of {} run(s)",
        series,
        args.steps,
        args.interval,
        args.shards,
        args.per_request,
        args.repeat.max(1)
    );
    println!(
        "| system | samples/s | RSS/series (B) | disk B/sample | probe query | failed requests |"
    );
    println!("|---|---|---|---|---|---|");
    for o in results {
        println!(
            "| {} | {:.0} | {:.0} | {} | {:.1} ms{} | {} |",
            o.kind.name(),
            o.samples as f64 / o.seconds,
            o.rss as f64 / series as f64,
            o.disk
                .map(|(b, _)| format!("{:.3}", b as f64 / o.samples as f64))
                .unwrap_or_else(|| "-".into()),
            o.query_ms,
            if o.query_ok { "" } else { " (missing)" },
            o.failures
        );
    }
    let of = |kind: Kind| results.iter().find(|o| o.kind == kind);
    if let (Some(bearer), Some(open)) = (of(Kind::TaishanBearer), of(Kind::Taishan)) {
        let rate = |o: &Outcome| o.samples as f64 / o.seconds;
        println!(
            "taishan-bearer / taishan: throughput {:.3}x (every request authenticated by a bearer token)",
            rate(bearer) / rate(open)
        );
    }
    if let Some(t) = of(Kind::Taishan) {
        for other in results
            .iter()
            .filter(|o| !matches!(o.kind, Kind::Taishan | Kind::TaishanBearer))
        {
            let tp = (t.samples as f64 / t.seconds) / (other.samples as f64 / other.seconds);
            let rss = t.rss as f64 / other.rss.max(1) as f64;
            let disk = match (t.disk, other.disk) {
                (Some((a, _)), Some((b, _))) => format!("{:.2}", a as f64 / b.max(1) as f64),
                _ => "-".into(),
            };
            println!(
                "taishan / {}: throughput {tp:.2}x, RSS {rss:.2}x, disk {disk}x",
                other.kind.name()
            );
        }
    }
}
