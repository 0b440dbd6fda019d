//! `alerter`: the Alertmanager-compatible alerter of `taishan up`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use taishan_core::config::{FieldError, Section};

/// The `alerter` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlerterConfig {
    /// An `alertmanager.yml`; none: alerts are grouped and shown but notified to nobody.
    /// `taishan up --alerter-config` overrides it.
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    /// Taishan's on-call file (teams, schedules, escalation, ownership), read with the
    /// config at every reload; routes may then name a team as their receiver.
    /// `taishan up --alerter-oncall` overrides it.
    #[serde(default)]
    pub oncall_file: Option<PathBuf>,
    /// How long the acknowledge and resolve links in pages work (default 24h).
    #[serde(default = "default_link_ttl", with = "humantime_serde")]
    pub link_ttl: std::time::Duration,
    /// The other replicas of this alerter (their URLs): they share the notification log,
    /// silences and acknowledgements, and deliver in turn. `--alerter-peer` adds to it.
    #[serde(default)]
    pub peers: Vec<String>,
    /// How long each replica position waits before delivering (Alertmanager's
    /// `--cluster.peer-timeout`).
    #[serde(default = "default_peer_timeout", with = "humantime_serde")]
    pub peer_timeout: std::time::Duration,
    /// A file holding the secret every replica shares (sent as a bearer token on the
    /// cluster route); required with peers. Mode 0600, not empty.
    #[serde(default)]
    pub peer_secret_file: Option<PathBuf>,
    /// Where the Alertmanager API listens (default 127.0.0.1:9093).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The URL people reach the alerter at, in notifications (default `http://<listen>`).
    #[serde(default)]
    pub external_url: Option<String>,
    /// Whether a receiver told an alert fires hears it resolve even if it was silenced or
    /// inhibited meanwhile (Alertmanager does not: its issue #226). Default true.
    #[serde(default = "yes")]
    pub resolve_muted: bool,
    /// Receivers that differ from `resolve_muted`, by name (e.g. `{audit: false}`).
    #[serde(default)]
    pub resolve_muted_receivers: std::collections::BTreeMap<String, bool>,
    /// How long the alert history keeps its rows (default 30d).
    #[serde(default = "default_history_retention", with = "humantime_serde")]
    pub history_retention: std::time::Duration,
    /// Notifications per second each named receiver may be sent, with a burst; a
    /// notification over it waits for a token until its group's next flush.
    #[serde(default)]
    pub rate_limits: std::collections::BTreeMap<String, ReceiverRateLimit>,
}

/// A receiver's rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverRateLimit {
    /// Notifications per second, sustained.
    pub rate: f64,
    /// Notifications at once after a quiet period (default: one second's worth, at least 1).
    #[serde(default)]
    pub burst: Option<u32>,
}

impl Section for AlerterConfig {
    const NAME: &'static str = "alerter";

    fn validate(&self, errors: &mut Vec<FieldError>) {
        for (i, p) in self.peers.iter().enumerate() {
            if !(p.starts_with("http://") || p.starts_with("https://")) {
                errors.push(FieldError::new(
                    format!("alerter.peers[{i}]"),
                    format!("{p:?}: a peer is the URL of its API, e.g. http://10.0.0.2:9093"),
                ));
            }
        }
        if self.link_ttl.is_zero() {
            errors.push(FieldError::new(
                "alerter.link_ttl",
                "must be longer than 0s",
            ));
        }
        for (name, l) in &self.rate_limits {
            if !(l.rate.is_finite() && l.rate > 0.0) {
                errors.push(FieldError::new(
                    format!("alerter.rate_limits.{name}.rate"),
                    format!(
                        "must be a positive number of notifications per second, got {}",
                        l.rate
                    ),
                ));
            }
            if l.burst == Some(0) {
                errors.push(FieldError::new(
                    format!("alerter.rate_limits.{name}.burst"),
                    "must be at least 1",
                ));
            }
        }
    }
}

fn yes() -> bool {
    true
}

fn default_history_retention() -> std::time::Duration {
    std::time::Duration::from_secs(30 * 24 * 3600)
}

fn default_peer_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(15)
}

fn default_link_ttl() -> std::time::Duration {
    std::time::Duration::from_secs(24 * 3600)
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9093))
}

impl Default for AlerterConfig {
    fn default() -> Self {
        Self {
            config_file: None,
            oncall_file: None,
            link_ttl: default_link_ttl(),
            peers: Vec::new(),
            peer_timeout: default_peer_timeout(),
            peer_secret_file: None,
            listen: default_listen(),
            external_url: None,
            resolve_muted: true,
            resolve_muted_receivers: Default::default(),
            history_retention: default_history_retention(),
            rate_limits: Default::default(),
        }
    }
}
