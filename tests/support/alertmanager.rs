//! Debian's Alertmanager 0.25 on free loopback ports, alone or as one of a cluster.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{client, free_port, port_taken, wait_for, which, with_retries, StartError};

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

    /// Alertmanager is told its ports: started again on fresh ones when one was taken.
    fn launch(config: &str, peer_timeout: Option<Duration>, peers: &[String]) -> Self {
        with_retries("alertmanager", || {
            Self::try_launch(config, peer_timeout, peers)
        })
    }

    fn try_launch(
        config: &str,
        peer_timeout: Option<Duration>,
        peers: &[String],
    ) -> Result<Self, StartError> {
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
        let mut am = Self {
            child: Some(child),
            base,
            cluster_addr,
            dir,
        };
        let ready = format!("{}/-/ready", am.base);
        let up = wait_for(
            "alertmanager to become ready",
            Duration::from_secs(30),
            || {
                let exited = am.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
                if exited.is_some() {
                    return Some(false);
                }
                client()
                    .get(&ready)
                    .send()
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| true)
            },
        );
        if !up {
            let log = am.log();
            am.kill9();
            match port_taken(&log) {
                true => return Err(StartError::PortTaken(log)),
                false => panic!("alertmanager exited:\n{log}"),
            }
        }
        Ok(am)
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
