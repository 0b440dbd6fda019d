//! What the benchmarks measure of the processes they start: free loopback ports, resident
//! memory and CPU time from `/proc`, and bytes on disk; and Taishan itself, started on free
//! ports. Shared by every benchmark.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `taishan up --no-demo` on free loopback ports, killed when dropped.
pub struct Taishan {
    /// The process.
    pub child: Child,
    /// Query API base URL.
    pub base: String,
    /// OTLP/gRPC URL.
    pub grpc: String,
    /// OTLP/HTTP base URL.
    pub http: String,
    /// The alerter's base URL (its Alertmanager API).
    pub alerter: String,
}

impl Drop for Taishan {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Taishan with its data under `dir`, self-scraping off, plus `extra_config` YAML
/// sections; waits until it is ready.
pub fn start_taishan(dir: &Path, extra_config: &str) -> Taishan {
    start_taishan_with(dir, extra_config, false)
}

/// [`start_taishan`], with the demo services and their rules running when `demo`.
pub fn start_taishan_with(dir: &Path, extra_config: &str, demo: bool) -> Taishan {
    let (api, grpc, http, alerter) = (free_port(), free_port(), free_port(), free_port());
    let config = dir.join("taishan.yaml");
    std::fs::write(
        &config,
        format!("server:\n  http_listen: 127.0.0.1:{api}\n  otlp_grpc_listen: 127.0.0.1:{grpc}\n  otlp_http_listen: 127.0.0.1:{http}\nscrape:\n  self_scrape: false\n{extra_config}"),
    )
    .expect("config");
    let log = std::fs::File::create(dir.join("taishan.log")).expect("log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taishan"));
    cmd.arg("up");
    if !demo {
        cmd.arg("--no-demo");
    }
    let child = cmd
        .args([
            "--alerter-listen",
            &format!("127.0.0.1:{alerter}"),
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start taishan");
    let t = Taishan {
        child,
        base: format!("http://127.0.0.1:{api}"),
        grpc: format!("http://127.0.0.1:{grpc}"),
        http: format!("http://127.0.0.1:{http}"),
        alerter: format!("http://127.0.0.1:{alerter}"),
    };
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    while !client
        .get(format!("{}/-/ready", t.base))
        .send()
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "taishan did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Resident memory of process `pid` (bytes; 0 when it is gone).
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds process `pid` has used (user + system).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes of every file under `dir`.
pub fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => disk_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
