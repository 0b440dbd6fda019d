//! Telemetry benchmark: OTLP span ingest over gRPC and HTTP (spans per second per core of
//! the server, 20 attributes per span), bytes on disk per span, OTLP log ingest (MB of log
//! text per second per core), then trace and log search latency over what was stored.
//!
//! `cargo bench --bench telemetry -- --help` explains the options; BENCHMARKS.md records runs.

mod data;
#[allow(dead_code)]
#[path = "../measure.rs"]
mod measure;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use measure::{cpu_seconds, disk_bytes, rss_bytes, start_taishan, Taishan};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

#[derive(Parser, Debug)]
#[command(about = "OTLP span/log ingest and search benchmark (loopback only, bounded in count)")]
struct Args {
    /// Spans sent over each protocol.
    #[arg(long, default_value_t = 1_000_000)]
    spans: usize,
    /// Spans per export request.
    #[arg(long, default_value_t = 512)]
    span_batch: usize,
    /// Log lines sent.
    #[arg(long, default_value_t = 2_000_000)]
    logs: usize,
    /// Log lines per export request.
    #[arg(long, default_value_t = 1000)]
    log_batch: usize,
    /// Concurrent exporters.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Searches of each kind timed.
    #[arg(long, default_value_t = 50)]
    repeat: usize,
    /// cargo bench passes --bench; accepted and ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn start(dir: &Path) -> Taishan {
    start_taishan(dir, "ingest:\n  max_body_size: 64MiB\n")
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Sends `total` spans with `clients` concurrent exporters; returns (wall s, server CPU s).
fn send_spans(
    rt: &tokio::runtime::Runtime,
    s: &Taishan,
    grpc: bool,
    total: usize,
    batch: usize,
    clients: usize,
    first_trace: u64,
) -> (f64, f64) {
    let requests = total.div_ceil(batch);
    let next = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_seconds(s.child.id());
    let t0 = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let next = next.clone();
            let (grpc_url, http_url) = (s.grpc.clone(), format!("{}/v1/traces", s.http));
            tasks.push(tokio::spawn(async move {
                let mut grpc_client = if grpc {
                    Some(
                        TraceServiceClient::connect(grpc_url)
                            .await
                            .expect("grpc connect")
                            .max_encoding_message_size(64 << 20),
                    )
                } else {
                    None
                };
                let http = reqwest::Client::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= requests {
                        return;
                    }
                    let trace = first_trace + (i * batch / data::SPANS_PER_TRACE) as u64;
                    let req = data::span_requests(1, batch, trace, now_ns()).remove(0);
                    match grpc_client.as_mut() {
                        Some(c) => {
                            c.export(req).await.expect("grpc export");
                        }
                        None => {
                            let r = http
                                .post(&http_url)
                                .header("Content-Type", "application/x-protobuf")
                                .body(req.encode_to_vec())
                                .send()
                                .await
                                .expect("http export");
                            assert!(r.status().is_success(), "{}", r.status());
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("exporter");
        }
    });
    (t0.elapsed().as_secs_f64(), cpu_seconds(s.child.id()) - cpu0)
}

/// Sends `total` log lines; returns (wall s, server CPU s, raw bytes).
fn send_logs(
    rt: &tokio::runtime::Runtime,
    s: &Taishan,
    total: usize,
    batch: usize,
    clients: usize,
) -> (f64, f64, u64) {
    let requests = total.div_ceil(batch);
    let next = Arc::new(AtomicU64::new(0));
    let raw = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_seconds(s.child.id());
    let t0 = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (next, raw, url) = (next.clone(), raw.clone(), s.grpc.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = LogsServiceClient::connect(url)
                    .await
                    .expect("grpc connect")
                    .max_encoding_message_size(64 << 20);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= requests {
                        return;
                    }
                    let (mut reqs, bytes) =
                        data::log_requests(1, batch, (i * batch) as u64, now_ns());
                    raw.fetch_add(bytes, Ordering::Relaxed);
                    client.export(reqs.remove(0)).await.expect("log export");
                }
            }));
        }
        for t in tasks {
            t.await.expect("exporter");
        }
    });
    (
        t0.elapsed().as_secs_f64(),
        cpu_seconds(s.child.id()) - cpu0,
        raw.load(Ordering::Relaxed),
    )
}

fn latency(client: &reqwest::blocking::Client, urls: &[String]) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(urls.len());
    let mut hits = 0;
    for u in urls {
        let t = Instant::now();
        let body = client
            .get(u)
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if body.contains("traceID") || body.contains("\"body\"") || body.contains("resourceSpans") {
            hits += 1;
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), hits)
}

fn main() {
    let args = Args::parse();
    let root = tempfile::tempdir().expect("tempdir");
    let s = start(root.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    println!("| measurement | value |\n|---|---|");
    let mut stored_spans = 0usize;
    for (name, grpc) in [("OTLP/gRPC", true), ("OTLP/HTTP", false)] {
        let first_trace = (stored_spans / data::SPANS_PER_TRACE) as u64;
        let (wall, cpu) = send_spans(
            &rt,
            &s,
            grpc,
            args.spans,
            args.span_batch,
            args.clients,
            first_trace,
        );
        stored_spans += args.spans;
        eprintln!(
            "{name}: {} spans in {wall:.1}s wall, {cpu:.1} server CPU-s",
            args.spans
        );
        println!(
            "| {name} spans/s (wall, {} clients) | {:.0} |",
            args.clients,
            args.spans as f64 / wall
        );
        println!(
            "| {name} spans/s per server core | {:.0} |",
            args.spans as f64 / cpu.max(1e-9)
        );
    }
    println!(
        "| server RSS after {} spans ({} traces) | {:.0} MiB |",
        stored_spans,
        stored_spans / data::SPANS_PER_TRACE,
        rss_bytes(s.child.id()) as f64 / 1048576.0
    );
    let traces_dir = root.path().join("data/traces");
    println!(
        "| bytes on disk per span (20 attributes) | {:.0} |",
        disk_bytes(&traces_dir) as f64 / stored_spans as f64
    );

    let (wall, cpu, raw) = send_logs(&rt, &s, args.logs, args.log_batch, args.clients);
    eprintln!(
        "logs: {} lines, {:.1} MB in {wall:.1}s wall, {cpu:.1} server CPU-s",
        args.logs,
        raw as f64 / 1e6
    );
    println!(
        "| OTLP/gRPC log lines/s (wall) | {:.0} |",
        args.logs as f64 / wall
    );
    println!(
        "| log MB/s per server core | {:.1} |",
        raw as f64 / 1e6 / cpu.max(1e-9)
    );
    println!(
        "| bytes on disk per log line | {:.0} |",
        disk_bytes(&root.path().join("data/logs")) as f64 / args.logs as f64
    );

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let traces = stored_spans / data::SPANS_PER_TRACE;
    let pick = |i: usize| (i * 7919) % traces.max(1);
    let start = (now_ns() / 1_000_000_000).saturating_sub(3600);
    let searches: Vec<(&str, Vec<String>)> = vec![
        (
            "trace by id",
            (0..args.repeat)
                .map(|i| {
                    let id: String = data::trace_id(pick(i) as u64)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    format!("{}/api/traces/{id}", s.base)
                })
                .collect(),
        ),
        (
            "trace search by service (20 newest)",
            (0..args.repeat)
                .map(|i| {
                    format!(
                        "{}/api/search?service=svc-{}&start={start}",
                        s.base,
                        i % data::SERVICES
                    )
                })
                .collect(),
        ),
        (
            "trace search by service + attribute",
            (0..args.repeat)
                .map(|i| {
                    format!(
                        "{}/api/search?service=svc-{}&tags=http.method%3DPOST&start={start}",
                        s.base,
                        i % data::SERVICES
                    )
                })
                .collect(),
        ),
        (
            "trace search, errors slower than 400ms",
            (0..args.repeat)
                .map(|_| {
                    format!(
                        "{}/api/search?tags=status%3Derror&minDuration=400ms&start={start}",
                        s.base
                    )
                })
                .collect(),
        ),
        (
            "log search: substring, newest 100",
            (0..args.repeat)
                .map(|i| {
                    format!(
                        "{}/api/logs/search?q=order%3Do-{}&start={start}",
                        s.base,
                        100 + i
                    )
                })
                .collect(),
        ),
        (
            "log search: rare term (10 lines in 10 M)",
            (0..args.repeat)
                .map(|_| format!("{}/api/logs/search?q=quarantined&start={start}", s.base))
                .collect(),
        ),
        (
            "log search: rare regex `(quarantined|frozen) by \\w+`",
            (0..args.repeat)
                .map(|_| {
                    format!(
                        "{}/api/logs/search?regex=%28quarantined%7Cfrozen%29%20by%20%5Cw%2B&start={start}",
                        s.base
                    )
                })
                .collect(),
        ),
        (
            "log search: service + ERROR",
            (0..args.repeat)
                .map(|i| {
                    format!(
                        "{}/api/logs/search?service=svc-{}&severity=error&start={start}",
                        s.base,
                        i % data::SERVICES
                    )
                })
                .collect(),
        ),
        (
            "log search: by trace id",
            (0..args.logs as u64)
                .filter_map(data::log_trace_id)
                .step_by(97)
                .take(args.repeat)
                .map(|t| {
                    let id: String = t.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{}/api/logs/search?trace_id={id}&start={start}", s.base)
                })
                .collect(),
        ),
    ];
    println!("\n| search over {} traces and {} log lines | p50 ms | p99 ms | answers with data |\n|---|---|---|---|", traces, args.logs);
    for (name, urls) in searches {
        let (p50, p99, hits) = latency(&client, &urls);
        println!("| {name} | {p50:.1} | {p99:.1} | {hits}/{} |", urls.len());
    }
}
