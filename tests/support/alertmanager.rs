//! Debian's Alertmanager 0.25 on free loopback ports, alone or as one of a cluster.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{client, free_port, wait_for, which};

/// A running `prometheus-alertmanager`.
pub struct Alertmanager {
    child: Option<Child>,
    /// Its API.
    pub base: String,
    /// Its cluster (gossip) address, `127.0.0.1:port`.
    pub cluster_addr: String,
    dir: tempfile::TempDir,
}

impl Alertmanager {
    /// One Alertmanager alone (no cluster).
    pub fn start(config: &str) -> Self {
        Self::launch(config, None, &[])
    }

    /// One member of a cluster, joining `peers` (their cluster addresses), with Alertmanager's
    /// `--cluster.peer-timeout` set to `peer_timeout`.
    pub fn start_clustered(config: &str, peers: &[String], peer_timeout: Duration) -> Self {
        Self::launch(config, Some(peer_timeout), peers)
    }

    fn launch(config: &str, peer_timeout: Option<Duration>, peers: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg, config).unwrap();
        let (port, cluster_port) = (free_port(), free_port());
        let base = format!("http://127.0.0.1:{port}");
        let cluster_addr = format!("127.0.0.1:{cluster_port}");
        let log = std::fs::File::create(dir.path().join("am.log")).unwrap();
        let mut cmd = Command::new(which("prometheus-alertmanager"));
        cmd.arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.external-url={base}"));
        match peer_timeout {
            None => {
                cmd.arg("--cluster.listen-address=");
            }
            Some(t) => {
                cmd.arg(format!("--cluster.listen-address={cluster_addr}"))
                    .arg(format!("--cluster.peer-timeout={}ms", t.as_millis()))
                    .arg("--cluster.gossip-interval=50ms")
                    .arg("--cluster.pushpull-interval=2s")
                    .arg("--cluster.settle-timeout=3s");
                for p in peers {
                    cmd.arg(format!("--cluster.peer={p}"));
                }
            }
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus-alertmanager");
        let ready = format!("{base}/-/ready");
        wait_for(
            "alertmanager to become ready",
            Duration::from_secs(30),
            || {
                client()
                    .get(&ready)
                    .send()
                    .ok()
                    .filter(|r| r.status().is_success())
            },
        );
        Self {
            child: Some(child),
            base,
            cluster_addr,
            dir,
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("am.log")).unwrap_or_default()
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.kill9();
    }
}
