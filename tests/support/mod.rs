//! Helpers shared by the end-to-end tests: the `taishan` binary and real peers (Prometheus)
//! started on free loopback ports, and small clients for the protocols under test.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use taishan_collector::receivers::prompb;

pub mod alertmanager;
pub mod pki;

/// Series to remote-write: labels as pairs, samples as `(ms, value)`.
pub type SeriesSpec<'a> = (Vec<(&'a str, &'a str)>, Vec<(i64, f64)>);

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The first of `n` consecutive loopback ports nobody listens on right now. Tests of one
/// binary run at once: each call starts where the last left off, so two of them never get
/// the same run while neither has bound it yet.
pub fn free_port_run(n: u16) -> u16 {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let first = CALLS.fetch_add(200, std::sync::atomic::Ordering::Relaxed);
    for attempt in first..first + 200 {
        let base = 20_000 + ((std::process::id() * 7_919 + attempt * 104_729) % 40_000) as u16;
        let held: Vec<_> = (0..n)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return base;
        }
    }
    panic!("no run of {n} free loopback ports");
}

/// Polls `check` until it returns Some, or panics after `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Whether the config file at `path` asks for the demo services.
fn demo_wanted(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|c| c.contains("\ndemo:"))
}

/// Why a start did not come up: a port it was given was taken meanwhile (try again on
/// others), or anything else (the test fails with the log).
#[derive(Debug)]
pub enum StartError {
    /// Someone else bound a port between choosing it and binding it.
    PortTaken(String),
}

/// Whether a failed start's log says a port was taken.
pub fn port_taken(log: &str) -> bool {
    let lower = log.to_ascii_lowercase();
    lower.contains("address already in use") || lower.contains("address in use")
}

/// Tries `start` with fresh ports up to five times while it reports a port taken: for
/// servers that must be told their ports before they start (peers, the demo services).
pub fn with_retries<T>(what: &str, mut start: impl FnMut() -> Result<T, StartError>) -> T {
    let mut last = String::new();
    for _ in 0..5 {
        match start() {
            Ok(v) => return v,
            Err(StartError::PortTaken(log)) => last = log,
        }
    }
    panic!("{what}: a port was taken on every one of 5 tries; the last log:\n{last}")
}

/// The address after `label` in a banner line of `taishan up` (`  label   http://addr/...`).
fn banner_addr(banner: &str, label: &str) -> Option<String> {
    let line = banner.lines().find(|l| l.trim_start().starts_with(label))?;
    let rest = line.trim_start()[label.len()..].trim_start();
    let rest = rest.strip_prefix("http://").unwrap_or(rest);
    let rest = rest.strip_prefix("https://").unwrap_or(rest);
    let end = rest.find(['/', ',', ' ']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// A running `taishan up`.
pub struct Taishan {
    child: Option<Child>,
    pub base: String,
    /// OTLP/gRPC address (`127.0.0.1:port`), as the banner printed it.
    pub otlp_grpc: String,
    /// OTLP/HTTP base URL, as the banner printed it.
    pub otlp_http: String,
    pub data_dir: PathBuf,
    /// The alerter's base URL (its Alertmanager API).
    pub alerter: String,
    /// The first port of the demo services, when [`Taishan::start_demo`] chose it.
    pub demo_base: u16,
    config: PathBuf,
    log: PathBuf,
    /// The alerter port it was told to bind (0: any), kept for [`Taishan::restart`].
    alerter_port: u16,
}

/// The OTLP listeners on ports the kernel picks, for configs the helpers write.
const OTLP_ON_ANY_PORT: &str =
    "server:\n  otlp_grpc_listen: 127.0.0.1:0\n  otlp_http_listen: 127.0.0.1:0\n";

impl Taishan {
    /// Starts Taishan with `data_dir`, self-scraping off, plus `extra` YAML (top-level
    /// sections other than `server` and `scrape`). Every listener binds a port the kernel
    /// picks; the banner says which.
    pub fn start(data_dir: &Path, extra: &str) -> Self {
        Self::start_on(data_dir, extra, 0)
    }

    /// Starts Taishan like [`Taishan::start`] with its alerter on `alerter_port`, for
    /// replicas that must know each other's address before either starts.
    pub fn start_on(data_dir: &Path, extra: &str, alerter_port: u16) -> Self {
        Self::try_start_on(data_dir, extra, alerter_port)
            .unwrap_or_else(|StartError::PortTaken(log)| panic!("taishan could not bind:\n{log}"))
    }

    /// [`Taishan::start`] behind the web config at `web_config` (`server.web_config`).
    pub fn start_with_web_config(data_dir: &Path, extra: &str, web_config: &Path) -> Self {
        let config = data_dir.with_extension("yaml");
        std::fs::write(
            &config,
            format!(
                "{OTLP_ON_ANY_PORT}  web_config: {}\nscrape:\n  self_scrape: false\n{extra}",
                web_config.display()
            ),
        )
        .expect("write config");
        Self::launch(data_dir, &config, 0)
            .unwrap_or_else(|StartError::PortTaken(log)| panic!("taishan could not bind:\n{log}"))
    }

    /// [`Taishan::start_on`], reporting a taken alerter port instead of failing.
    pub fn try_start_on(
        data_dir: &Path,
        extra: &str,
        alerter_port: u16,
    ) -> Result<Self, StartError> {
        let config = data_dir.with_extension("yaml");
        std::fs::write(
            &config,
            format!("{OTLP_ON_ANY_PORT}scrape:\n  self_scrape: false\n{extra}"),
        )
        .expect("write config");
        Self::launch(data_dir, &config, alerter_port)
    }

    /// Starts Taishan with the demo services: `config(base_port)` gives the YAML after the
    /// `server` section (the OTLP listeners on any port) for the demo's first port; tried
    /// again on other ports while one is taken.
    pub fn start_demo(data_dir: &Path, config: impl Fn(u16) -> String) -> Self {
        let path = data_dir.with_extension("yaml");
        with_retries("taishan with the demo", || {
            let base = free_port_run(11);
            std::fs::write(&path, format!("{OTLP_ON_ANY_PORT}{}", config(base)))
                .expect("write config");
            let mut t = Self::launch(data_dir, &path, 0)?;
            t.demo_base = base;
            Ok(t)
        })
    }

    /// Starts Taishan with a config file as written (its listeners as it says, the API and
    /// the alerter on any port).
    pub fn start_with_config(data_dir: &Path, config: &Path) -> Self {
        Self::launch(data_dir, config, 0)
            .unwrap_or_else(|StartError::PortTaken(log)| panic!("taishan could not bind:\n{log}"))
    }

    fn launch(data_dir: &Path, config: &Path, alerter_port: u16) -> Result<Self, StartError> {
        static LAUNCHES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = data_dir.with_extension(format!("{n}.log"));
        let out = data_dir.with_extension(format!("{n}.out"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let out_file = std::fs::File::create(&out).expect("stdout file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_taishan"))
            .args(["up", "--data-dir"])
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .args(["--http-listen", "127.0.0.1:0"])
            .args(["--alerter-listen", &format!("127.0.0.1:{alerter_port}")])
            .env("RUST_LOG", "info")
            // Tests that want the demo services say so in their config (`demo.enabled`).
            .env(
                "TAISHAN_NO_DEMO",
                if demo_wanted(config) { "false" } else { "true" },
            )
            .stdout(out_file)
            .stderr(log_file)
            .spawn()
            .expect("start taishan");
        // The banner ends once everything is bound and the demo started.
        let start = Instant::now();
        let banner = loop {
            let banner = std::fs::read_to_string(&out).unwrap_or_default();
            if banner.contains("Press Ctrl-C to stop.") {
                break banner;
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if exited.is_some() && port_taken(&text) {
                    return Err(StartError::PortTaken(text));
                }
                panic!(
                    "taishan did not start ({}):\n{text}",
                    exited.map_or("timed out after 60s".to_string(), |s| s.to_string()),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let addr = |label| banner_addr(&banner, label).unwrap_or_default();
        // The listeners serve TLS when the web config asks: the banner's URLs say so.
        let scheme = match banner.contains("https://") {
            true => "https",
            false => "http",
        };
        let base = format!("{scheme}://{}", addr("dashboards (browser)"));
        let t = Self {
            child: Some(child),
            otlp_grpc: addr("OTLP/gRPC"),
            otlp_http: format!("{scheme}://{}", addr("OTLP/HTTP")),
            alerter: format!("{scheme}://{}", addr("alerter (Alertmanager)")),
            base,
            data_dir: data_dir.to_path_buf(),
            demo_base: 0,
            config: config.to_path_buf(),
            log,
            alerter_port,
        };
        // Whether it is up, not whom it proves to be: the TLS tests check certificates.
        let c = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(true)
            .build()
            .expect("http client");
        let ready = format!("{}/-/ready", t.base);
        wait_for("taishan to be ready", Duration::from_secs(60), || {
            c.get(&ready)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Ok(t)
    }

    /// The log written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        c.wait().expect("wait for taishan")
    }

    /// Starts again on the same data directory, config and alerter port (the alerter's
    /// replicas know each other by it); the API and OTLP listeners get new ports.
    pub fn restart(&mut self) -> Taishan {
        self.kill9();
        let mut t = Self::launch(&self.data_dir, &self.config, self.alerter_port).unwrap_or_else(
            |StartError::PortTaken(log)| panic!("taishan could not bind again:\n{log}"),
        );
        t.demo_base = self.demo_base;
        t
    }

    /// Instant query; returns the whole JSON answer.
    pub fn query(&self, tenant: Option<&str>, q: &str, time: Option<f64>) -> Value {
        let mut req = client()
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", q)]);
        if let Some(t) = time {
            req = req.query(&[("time", t.to_string())]);
        }
        if let Some(t) = tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        req.send().expect("query").json().expect("json answer")
    }

    /// Sends a remote write; returns status and body.
    pub fn remote_write(&self, tenant: Option<&str>, series: &[SeriesSpec<'_>]) -> (u16, String) {
        let body = encode_remote_write(series);
        let mut req = client()
            .post(format!("{}/api/v1/write", self.base))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body);
        if let Some(t) = tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        let resp = req.send().expect("remote write");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    /// Sends Influx line protocol to `path_and_query`; returns status and body.
    pub fn influx(
        &self,
        path_and_query: &str,
        body: impl Into<reqwest::blocking::Body>,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut req = client()
            .post(format!("{}{path_and_query}", self.base))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().expect("influx write");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    pub fn post(&self, path: &str) -> Value {
        client()
            .post(format!("{}{path}", self.base))
            .send()
            .expect("post")
            .json()
            .expect("json")
    }

    pub fn metrics(&self) -> String {
        client()
            .get(format!("{}/metrics", self.base))
            .send()
            .expect("metrics")
            .text()
            .expect("text")
    }
}

impl Drop for Taishan {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A snappy-compressed remote write body.
pub fn encode_remote_write(series: &[SeriesSpec<'_>]) -> Vec<u8> {
    prompb::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| prompb::TimeSeries::new(labels, samples))
            .collect(),
    }
    .to_snappy()
}

/// The `result` array of a query answer, asserting success.
pub fn result(answer: &Value) -> &Vec<Value> {
    assert_eq!(answer["status"], "success", "{answer}");
    answer["data"]["result"].as_array().expect("result array")
}

/// `(labels as text, [(t_ms, value)])` of a matrix answer, sorted.
pub fn matrix(answer: &Value) -> Vec<(String, Vec<(i64, String)>)> {
    let mut out: Vec<(String, Vec<(i64, String)>)> = result(answer)
        .iter()
        .map(|s| {
            let metric = s["metric"].to_string();
            let values = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().expect("time") * 1000.0).round() as i64;
                    (t, p[1].as_str().expect("value").to_string())
                })
                .collect();
            (metric, values)
        })
        .collect();
    out.sort();
    out
}

/// Serves HTTP/1.1 from a thread: `respond(n)` gives the content type and body of the n-th
/// request (from 0). Returns the port.
pub fn serve_http(respond: impl Fn(u64) -> (String, String) + Send + 'static) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let Ok(read_half) = conn.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(read_half);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|r| r > 2).unwrap_or(false) {
                line.clear();
            }
            let (content_type, body) = respond(n as u64);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    port
}

/// An HTTP server from a thread that answers every POST with 200 and keeps each body as
/// JSON: a webhook receiver for the alerter's notifications.
pub struct WebhookSink {
    /// Its URL.
    pub url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl WebhookSink {
    /// Starts one on a free loopback port.
    pub fn start() -> Self {
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let Ok(read_half) = conn.try_clone() else {
                        return;
                    };
                    let mut reader = BufReader::new(read_half);
                    loop {
                        // One request: headers, then Content-Length bytes of body.
                        let mut length = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        kept.lock().expect("bodies").push(json);
                        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if conn.write_all(ok.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { url, bodies }
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().expect("bodies").clone()
    }
}

/// A real Prometheus server from the Debian package.
pub struct Prometheus {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML) on a free port; again on another when it was
    /// taken meanwhile.
    pub fn start(config: &str, extra_args: &[&str]) -> Self {
        with_retries("prometheus", || Self::try_start(config, extra_args, None))
    }

    /// [`Prometheus::start`] behind a web config (`--web.config.file` in `extra_args`)
    /// that lets `user` in: its readiness is asked with that user's password.
    pub fn start_behind(config: &str, extra_args: &[&str], user: (&str, &str)) -> Self {
        with_retries("prometheus", || {
            Self::try_start(config, extra_args, Some(user))
        })
    }

    fn try_start(
        config: &str,
        extra_args: &[&str],
        user: Option<(&str, &str)>,
    ) -> Result<Self, StartError> {
        let bin = which("prometheus");
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config).expect("config");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut p = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let c = client();
        let ready = format!("{}/-/ready", p.base);
        let up = wait_for(
            "prometheus to become ready",
            Duration::from_secs(60),
            || {
                if p.child.try_wait().ok().flatten().is_some() {
                    return Some(false);
                }
                let mut request = c.get(&ready);
                if let Some((name, password)) = user {
                    request = request.basic_auth(name, Some(password));
                }
                request
                    .send()
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| true)
            },
        );
        if !up {
            let log = p.log();
            match port_taken(&log) {
                true => return Err(StartError::PortTaken(log)),
                false => panic!("prometheus exited:\n{log}"),
            }
        }
        Ok(p)
    }

    pub fn query(&self, q: &str, time: f64) -> Value {
        client()
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", q), ("time", &time.to_string())])
            .send()
            .expect("prometheus query")
            .json()
            .expect("json")
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self._dir.path().join("prometheus.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python with the OpenTelemetry SDK that `./scripts/test` installs
/// (`$TAISHAN_TEST_PYTHON`, else `~/.cache/taishan-venv/bin/python3`).
pub fn otel_python() -> PathBuf {
    let p = std::env::var_os("TAISHAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/taishan-venv/bin/python3")
        });
    assert!(
        p.is_file(),
        "{} not found: run ./scripts/test, which creates the venv with the OpenTelemetry SDK",
        p.display()
    );
    p
}

/// Runs a test script (a path under `tests/`) with [`otel_python`]; its stdout, or a panic
/// with its output when it fails.
pub fn run_test_python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let out = std::process::Command::new(otel_python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The path of a peer binary, or a panic that says how to get it.
pub fn which(bin: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(bin);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{bin} is not installed: ./scripts/test installs the test peers (apt-get install {bin})"
    );
}
