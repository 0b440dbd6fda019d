//! High availability: replicas (`--alerter-peer URL`, `alerter.peers`) that all receive the
//! same alerts and share what they delivered, their silences and acknowledgements, so each
//! notification goes out once while any replica lives.
//!
//! As in Alertmanager, replicas are ordered (here by their URLs) and the one at position
//! `p` waits `p × peer_timeout` before each delivery, then asks its notification log, which
//! by then holds what the replicas before it delivered. If the first replica dies, the next
//! one finds nothing logged and delivers after its wait: nothing is lost, and a duplicate
//! happens only when a replica delivered but died before its entry reached the others.
//!
//! Sharing: every change is pushed to each peer as it happens (`POST
//! /api/taishan/v1/cluster/state`, batched, from a bounded outbox), and each replica pulls
//! every peer's whole state at start and every `PULL_EVERY` (`GET` on the same path), so a
//! restarted replica or a missed push catches up. Merges keep the newer of two versions.
//!
//! Replicas prove themselves to each other with a shared secret (`alerter.peer_secret_file`),
//! sent as a bearer token on the cluster route and compared in constant time; the route
//! exists only on a replica that has peers, and what a peer sends is checked as a posted
//! change would be (a silence without a matcher is refused whoever sends it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::state::StateEvent;

/// How often each peer's whole state is pulled.
pub const PULL_EVERY: Duration = Duration::from_secs(30);
/// Changes waiting to be pushed at most.
const OUTBOX: usize = 10_000;
/// Changes per push at most.
const BATCH: usize = 500;

/// Who this replica is among its peers.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This replica's URL, as its peers reach it.
    pub own_url: String,
    /// The peers' URLs.
    pub peers: Vec<String>,
    /// How long each position waits before delivering (Alertmanager's
    /// `--cluster.peer-timeout`, 15s by default).
    pub peer_timeout: Duration,
    /// What every replica sends and expects on the cluster route.
    pub secret: taishan_core::Secret,
}

impl ClusterConfig {
    /// This replica's position: 0 delivers at once.
    pub fn position(&self) -> usize {
        let mut all: Vec<&str> = self.peers.iter().map(|p| p.trim_end_matches('/')).collect();
        let own = self.own_url.trim_end_matches('/');
        all.push(own);
        all.sort_unstable();
        all.dedup();
        all.iter().position(|u| *u == own).unwrap_or(0)
    }

    /// How long this replica waits before each delivery.
    pub fn wait(&self) -> Duration {
        self.peer_timeout * u32::try_from(self.position()).unwrap_or(u32::MAX)
    }

    /// Whether `authorization` is a peer's: `Bearer <secret>`, compared in constant time.
    pub fn is_peer(&self, authorization: Option<&[u8]>) -> bool {
        let expected = format!("Bearer {}", self.secret.expose());
        let given = authorization.unwrap_or_default();
        if given.len() != expected.len() {
            return false;
        }
        given
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// The sending side: an outbox and the task pushing it to the peers.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    outbox: mpsc::Sender<StateEvent>,
    http: reqwest::Client,
    failed_pushes: AtomicU64,
}

impl Cluster {
    /// The cluster side of a replica, and the receiving end of its outbox for
    /// [`Cluster::push_loop`].
    pub fn new(config: ClusterConfig) -> (Self, mpsc::Receiver<StateEvent>) {
        let (outbox, rx) = mpsc::channel(OUTBOX);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let cluster = Self {
            config,
            outbox,
            http,
            failed_pushes: AtomicU64::new(0),
        };
        (cluster, rx)
    }

    /// Who this replica is.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Where changes are queued for the peers.
    pub fn outbox(&self) -> mpsc::Sender<StateEvent> {
        self.outbox.clone()
    }

    /// Queues a change; a full outbox drops it (the peers' next pull has it).
    pub fn publish(&self, event: StateEvent) {
        let _ = self.outbox.try_send(event);
    }

    /// Pushes queued changes to every peer until the outbox closes.
    pub async fn push_loop(&self, mut rx: mpsc::Receiver<StateEvent>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            for peer in &self.config.peers {
                self.push(peer, &batch).await;
            }
        }
    }

    async fn push(&self, peer: &str, batch: &[StateEvent]) {
        let url = format!(
            "{}/api/taishan/v1/cluster/state",
            peer.trim_end_matches('/')
        );
        for attempt in 0..3u32 {
            let request = self
                .http
                .post(&url)
                .bearer_auth(self.config.secret.expose());
            match request.json(batch).send().await {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => {
                    tracing::debug!(%peer, status = %r.status(), "a peer refused the state push")
                }
                Err(e) => tracing::debug!(%peer, error = %e, "a peer did not take the state push"),
            }
            tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
        }
        if self.failed_pushes.fetch_add(1, Ordering::Relaxed) % 100 == 0 {
            tracing::warn!(%peer, changes = batch.len(), "a peer is unreachable; it catches up at its next pull");
        }
    }

    /// Every peer's whole state (the peers that answer).
    pub async fn pull(&self) -> Vec<StateEvent> {
        let mut out = Vec::new();
        for peer in &self.config.peers {
            let url = format!(
                "{}/api/taishan/v1/cluster/state",
                peer.trim_end_matches('/')
            );
            let request = self.http.get(&url).bearer_auth(self.config.secret.expose());
            match request.send().await {
                Ok(r) if r.status().is_success() => match r.json::<Vec<StateEvent>>().await {
                    Ok(events) => out.extend(events),
                    Err(e) => tracing::warn!(%peer, error = %e, "a peer's state does not read"),
                },
                Ok(r) => {
                    tracing::debug!(%peer, status = %r.status(), "a peer refused the state pull")
                }
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "a peer is unreachable for the state pull")
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_ordered_by_url_and_wait_by_position() {
        let config = |own: &str| ClusterConfig {
            own_url: own.into(),
            peers: [
                "http://127.0.0.1:9093",
                "http://127.0.0.1:9094",
                "http://127.0.0.1:9095",
            ]
            .into_iter()
            .filter(|p| *p != own)
            .map(String::from)
            .collect(),
            peer_timeout: Duration::from_secs(15),
            secret: taishan_core::Secret::new("shared"),
        };
        assert_eq!(config("http://127.0.0.1:9093").position(), 0);
        assert_eq!(config("http://127.0.0.1:9094/").position(), 1);
        assert_eq!(
            config("http://127.0.0.1:9095").wait(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn only_the_shared_secret_is_a_peer() {
        let c = ClusterConfig {
            own_url: "http://a".into(),
            peers: vec!["http://b".into()],
            peer_timeout: Duration::from_secs(1),
            secret: taishan_core::Secret::new("shared"),
        };
        assert!(c.is_peer(Some(b"Bearer shared")));
        for wrong in [
            &b"Bearer share"[..],
            b"Bearer sharee",
            b"shared",
            b"Basic shared",
            b"",
        ] {
            assert!(
                !c.is_peer(Some(wrong)),
                "{:?}",
                String::from_utf8_lossy(wrong)
            );
        }
        assert!(!c.is_peer(None));
    }
}
