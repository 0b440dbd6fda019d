//! The pages as a browser sees them, and what live pages cost the server.
//!
//! `cargo bench --bench ui -- --visits 10 --views 20 --seconds 60`
//!
//! Starts `taishan up` with the demo (release build, free loopback ports), waits for its
//! data, then drives Debian's chromium through Playwright (`benches/ui/pages.py`, run by the
//! test venv's Python that `./scripts/test` installs):
//! - **load**: the home view opened `--visits` times in a fresh browser context (empty
//!   cache) and once more in the same one; navigation timing (DOM interactive,
//!   DOMContentLoaded, load), when the first data was drawn, and the bytes received until
//!   then. Targets: interactive < 1 s, ≤ 300 KB.
//! - **live**: Taishan's CPU over `--seconds` with the demo alone, then with `--views` home
//!   views open and updating every 5 s; the difference is what the live pages cost.
//!   Target: < 10% of one core for 20 views.

#[path = "../measure.rs"]
#[allow(dead_code)]
mod measure;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use measure::{cpu_seconds, start_taishan_with, Taishan};
use serde_json::Value;

struct Args {
    visits: u32,
    views: u32,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args {
        visits: 10,
        views: 20,
        seconds: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok());
        match flag.as_str() {
            "--visits" => a.visits = value().expect("--visits N") as u32,
            "--views" => a.views = value().expect("--views N") as u32,
            "--seconds" => a.seconds = value().expect("--seconds N"),
            "--help" => {
                println!("cargo bench --bench ui -- [--visits 10] [--views 20] [--seconds 60]");
                std::process::exit(0);
            }
            _ => {}
        }
    }
    a
}

fn python() -> PathBuf {
    std::env::var_os("TAISHAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/taishan-venv/bin/python3")
        })
}

fn pages_script(args: &[String]) -> Command {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/ui/pages.py");
    let mut cmd = Command::new(python());
    cmd.arg(script).args(args);
    cmd
}

/// Waits until the demo's payments and spans give rates, as the home view shows them.
fn wait_for_demo(t: &Taishan) {
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    let has = |q: &str| {
        client
            .get(format!("{}/api/v1/query", t.base))
            .query(&[("query", q)])
            .send()
            .and_then(|r| r.json::<Value>())
            .is_ok_and(|v| {
                v["data"]["result"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            })
    };
    while !(has("rate(payment_results_total{status=\"succeeded\"}[1m]) > 0")
        && has("rate(traces_span_metrics_calls_total[1m]) > 0"))
    {
        assert!(started.elapsed() < Duration::from_secs(120), "no demo data");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

fn load(t: &Taishan, visits: u32) {
    println!("load: the home view, {visits} first visits (empty cache) and {visits} return visits");
    let out = pages_script(&["load".into(), t.base.clone(), visits.to_string()])
        .output()
        .expect("run pages.py");
    assert!(
        out.status.success(),
        "pages.py load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for kind in ["first", "return"] {
        let of = |field: &str| -> Vec<f64> {
            rows.iter()
                .filter(|r| r["visit"] == kind)
                .filter_map(|r| r[field].as_f64())
                .collect()
        };
        println!(
            "  {kind:<6} visit  interactive {:>5.0} ms (max {:>4.0})  DOMContentLoaded {:>5.0} ms  load {:>5.0} ms  first data drawn {:>5.0} ms (max {:>4.0})  {:>6.1} KB received (max {:.1})",
            median(of("dom_interactive")),
            max(&of("dom_interactive")),
            median(of("dom_content_loaded")),
            median(of("load")),
            median(of("first_data_drawn")),
            max(&of("first_data_drawn")),
            median(of("bytes")) / 1024.0,
            max(&of("bytes")) / 1024.0,
        );
    }
}

/// Taishan's CPU (share of one core) over `seconds`.
fn cpu_share(t: &Taishan, seconds: u64) -> f64 {
    let pid = t.child.id();
    let (before, started) = (cpu_seconds(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    (cpu_seconds(pid) - before) / started.elapsed().as_secs_f64()
}

/// Taishan's CPU with `views` home views open; each with its own range when `distinct`.
fn with_views(t: &Taishan, views: u32, seconds: u64, distinct: bool) -> (f64, String) {
    let mut browser = pages_script(&[
        "hold".into(),
        t.base.clone(),
        views.to_string(),
        (seconds + 5).to_string(),
        if distinct { "distinct" } else { "same" }.into(),
    ])
    .stdout(Stdio::piped())
    .spawn()
    .expect("run pages.py");
    let mut lines = BufReader::new(browser.stdout.take().expect("stdout")).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(ready, "ready", "the pages did not all draw");
    // Past the pages' first loads: only their live updates remain.
    std::thread::sleep(Duration::from_secs(3));
    let share = cpu_share(t, seconds);
    let summary = lines.next().and_then(Result::ok).unwrap_or_default();
    let _ = browser.wait();
    (share, summary)
}

fn live(t: &Taishan, views: u32, seconds: u64) {
    println!("live: Taishan's CPU over {seconds} s, the demo alone, then with {views} home views open (refresh 5s)");
    let alone = cpu_share(t, seconds);
    println!(
        "  demo alone                        {:>5.1}% of a core",
        alone * 100.0
    );
    for (distinct, what) in [(false, "the same view"), (true, "each its own range")] {
        let (share, summary) = with_views(t, views, seconds, distinct);
        println!(
            "  {views} views, {what:<19} {:>5.1}% of a core: the views cost {:>4.1}% (target < 10%)   {summary}",
            share * 100.0,
            (share - alone) * 100.0
        );
    }
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo's ports start at a free run of eleven.
    let base = loop {
        let p = measure::free_port();
        if p < 60_000 && (1..11).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok())
        {
            break p;
        }
    };
    let t = start_taishan_with(dir.path(), &format!("demo:\n  base_port: {base}\n"), true);
    wait_for_demo(&t);
    load(&t, a.visits);
    live(&t, a.views, a.seconds);
}
