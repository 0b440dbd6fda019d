//! The systems under test, each started on a free loopback port in its own directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::measure::free_port;

/// Which system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Taishan,
    /// Taishan behind a web config, every request carrying a bearer token.
    TaishanBearer,
    VictoriaMetrics,
    Prometheus,
}

impl Kind {
    /// The systems named on the command line, in order; an unknown name stops the run.
    pub fn parse_all(names: &[String]) -> Vec<Kind> {
        names
            .iter()
            .map(|p| {
                Kind::parse(p).unwrap_or_else(|| {
                    panic!("unknown peer {p:?}: use taishan, taishan-bearer, victoria-metrics, prometheus")
                })
            })
            .collect()
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "taishan" => Some(Kind::Taishan),
            "taishan-bearer" => Some(Kind::TaishanBearer),
            "victoria-metrics" | "vm" => Some(Kind::VictoriaMetrics),
            "prometheus" => Some(Kind::Prometheus),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Taishan => "taishan",
            Kind::TaishanBearer => "taishan-bearer",
            Kind::VictoriaMetrics => "victoria-metrics",
            Kind::Prometheus => "prometheus",
        }
    }
}

/// A running peer.
pub struct Peer {
    pub kind: Kind,
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
    /// The `Authorization` every request sends (Taishan behind a web config).
    pub authorization: Option<String>,
}

/// The bearer token of [`Kind::TaishanBearer`].
const BENCH_TOKEN: &str = "taishan-bench-token";

impl Peer {
    pub fn start(kind: Kind, root: &Path) -> Peer {
        Self::start_with_rules(kind, root, None)
    }

    /// Starts `kind`, evaluating `rules` (a rule file, every `interval`) when given.
    pub fn start_with_rules(kind: Kind, root: &Path, rules: Option<(&Path, &str)>) -> Peer {
        let dir = root.join(kind.name());
        std::fs::create_dir_all(&dir).expect("peer dir");
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(root.join(format!("{}.log", kind.name()))).expect("log");
        let mut cmd = match kind {
            Kind::Taishan | Kind::TaishanBearer => {
                let config = root.join("taishan.yaml");
                // One tenant at full speed and size is what is measured: its rate limit is
                // raised far above what the machine takes (the check itself still runs), and
                // its series may fill the head (the 1M-series run), as one tenant's may.
                let mut text = "server:\n  otlp_grpc_listen: 127.0.0.1:0\n  otlp_http_listen: 127.0.0.1:0\nscrape:\n  self_scrape: false\ningest:\n  limits:\n    samples_per_second: 1000000000\n    burst_samples: 1000000000\nstorage:\n  limits:\n    max_series_per_tenant: 0\n".to_string();
                if let Some((file, every)) = rules {
                    text.push_str(&format!(
                        "rules:\n  files: [{}]\n  evaluation_interval: {every}\n",
                        file.display()
                    ));
                }
                std::fs::write(&config, text).expect("config");
                let mut c = Command::new(env!("CARGO_BIN_EXE_taishan"));
                c.args(["up", "--no-demo"])
                    .arg("--data-dir")
                    .arg(&dir)
                    .arg("--config")
                    .arg(&config)
                    .args(["--http-listen", &listen])
                    // Two Taishans may run side by side (with and without credentials).
                    .args(["--alerter-listen", "127.0.0.1:0"]);
                if kind == Kind::TaishanBearer {
                    c.arg("--web-config").arg(bearer_web_config(root));
                }
                c
            }
            Kind::VictoriaMetrics => {
                let mut c = Command::new("victoria-metrics");
                c.arg(format!("-storageDataPath={}", dir.display()))
                    .arg(format!("-httpListenAddr={listen}"))
                    .arg("-search.latencyOffset=0s")
                    .arg("-search.disableCache")
                    .arg("-retentionPeriod=100y");
                c
            }
            Kind::Prometheus => {
                let config = root.join("prometheus.yml");
                let text = match rules {
                    Some((file, every)) => format!(
                        "global:\n  scrape_interval: 1m\n  evaluation_interval: {every}\nrule_files: [{}]\n",
                        file.display()
                    ),
                    None => "global:\n  scrape_interval: 1m\n".to_string(),
                };
                std::fs::write(&config, text).expect("config");
                let mut c = Command::new("prometheus");
                c.arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.tsdb.path={}", dir.display()))
                    .arg(format!("--web.listen-address={listen}"))
                    .arg("--web.enable-remote-write-receiver");
                c
            }
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (install it: apt-get install {})",
                    kind.name(),
                    kind.name()
                )
            });
        let peer = Peer {
            kind,
            child: Some(child),
            base: format!("http://{listen}"),
            dir,
            authorization: (kind == Kind::TaishanBearer).then(|| format!("Bearer {BENCH_TOKEN}")),
        };
        let ready = match kind {
            Kind::VictoriaMetrics => format!("{}/health", peer.base),
            _ => format!("{}/-/ready", peer.base),
        };
        let client = reqwest::blocking::Client::new();
        let start = Instant::now();
        while !client
            .get(&ready)
            .send()
            .map(|r| r.status().is_success())
            .unwrap_or(false)
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} did not become ready",
                kind.name()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        peer
    }

    /// Sends remote-write `requests` in order, retrying while the peer asks to wait;
    /// progress on stderr.
    pub fn remote_write_all(&self, requests: &[Vec<u8>]) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client");
        for (i, body) in requests.iter().enumerate() {
            loop {
                let r = self
                    .authorized(client.post(self.write_url()))
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(body.clone())
                    .send();
                match r {
                    Ok(resp) if resp.status().is_success() => break,
                    Ok(resp)
                        if resp.status().as_u16() == 429 || resp.status().is_server_error() =>
                    {
                        std::thread::sleep(Duration::from_millis(100))
                    }
                    Ok(resp) => panic!(
                        "{} refused request {i}: {} {}",
                        self.kind.name(),
                        resp.status(),
                        resp.text().unwrap_or_default()
                    ),
                    Err(e) => panic!("{}: {e}", self.kind.name()),
                }
            }
            if requests.len() > 1 && i % 20 == 0 {
                eprint!("\r  {} {:>3}%", self.kind.name(), i * 100 / requests.len());
            }
        }
        if requests.len() > 1 {
            eprintln!();
        }
    }

    /// `request` with this peer's `Authorization`, if it asks for one.
    pub fn authorized(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.authorization {
            Some(a) => request.header("Authorization", a),
            None => request,
        }
    }

    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Resident memory in bytes.
    pub fn rss_bytes(&self) -> u64 {
        crate::measure::rss_bytes(self.pid())
    }

    /// Makes the peer persist what it holds in the form it keeps at rest, as far as it
    /// offers a way to; returns a description of what was done.
    pub fn persist(&mut self) -> &'static str {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .expect("client");
        match self.kind {
            Kind::Taishan | Kind::TaishanBearer => {
                for path in ["/api/v1/admin/tsdb/flush", "/api/v1/admin/tsdb/compact"] {
                    let url = format!("{}{path}", self.base);
                    let _ = self.authorized(client.post(url)).send();
                }
                "head flushed into blocks and compacted (admin API)"
            }
            Kind::VictoriaMetrics => {
                let _ = client
                    .get(format!("{}/internal/force_flush", self.base))
                    .send();
                let _ = client
                    .get(format!("{}/internal/force_merge", self.base))
                    .send();
                std::thread::sleep(Duration::from_secs(5));
                "force_flush and force_merge, then 5 s"
            }
            Kind::Prometheus => {
                self.stop();
                "stopped gracefully (head chunks and WAL on disk; a 2h block is cut only after 3h of data)"
            }
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A web config whose one token may do everything (the benchmark flushes through the admin
/// API), as the SHA-256 the file keeps.
fn bearer_web_config(root: &Path) -> PathBuf {
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(BENCH_TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = root.join("web.yml");
    let text = format!(
        "taishan:\n  tokens:\n    - {{name: bench, sha256: {digest}, roles: [admin], tenants: [\"*\"]}}\n"
    );
    std::fs::write(&path, text).expect("web config");
    path
}
