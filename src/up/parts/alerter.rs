//! The alerter as a part: its config (`--alerter-config`, else `alerter.config_file`, else
//! the demo's on-call team with the demo, else one receiver that holds alerts without
//! notifying), its API on the alerter's listener and under `/alerter` on the API address
//! (same origin as the pages), its flush loop, and reloads on `POST /-/reload` and SIGHUP.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use axum::Router;
use taishan_alerter::{alerter_routes, Alerter, AlerterOptions, CompiledConfig};
use taishan_edge::ListenerKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cmd::up::UpArgs;
use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// Used when no alerter config is given: alerts are grouped and shown, notified to nobody.
const HOLD_ONLY: &str = "route:\n  receiver: hold\nreceivers:\n  - name: hold\n";

/// Used with the demo when no alerter config is given: the demo's on-call team, paged on the
/// demo's pager.
const DEMO_CONFIG: &str = include_str!("../../../alerter/demo/alertmanager.yml");
const DEMO_ONCALL: &str = include_str!("../../../alerter/demo/oncall.yaml");
/// Where the demo on-call file expects the pager; replaced by where it listens.
const DEMO_PAGER_URL: &str = "http://127.0.0.1:7109";

/// The files given on the command line, over the config's.
#[derive(Debug, Clone, Default)]
pub struct AlerterFiles {
    /// `--alerter-config`.
    pub config: Option<PathBuf>,
    /// `--alerter-oncall`.
    pub oncall: Option<PathBuf>,
    /// `--alerter-peer`.
    pub peers: Vec<String>,
    /// The demo's pager, when the demo runs: with no config given, the demo's on-call team
    /// is paged there.
    pub demo_pager: Option<String>,
}

/// The alerter, built.
pub struct AlerterPart {
    /// The alerter.
    pub alerter: Arc<Alerter>,
    /// Its config file, if any.
    pub config_file: Option<PathBuf>,
}

impl AlerterPart {
    /// Loads the config; the API is served on the platform's alerter listener.
    pub async fn open(platform: &Platform, flags: AlerterFiles) -> anyhow::Result<Self> {
        let (config, data_dir) = (&platform.config, platform.data_dir());
        let clock = platform.clock.clone();
        let metrics = platform.metrics.alerter.clone();
        let file = flags.config.or_else(|| config.alerter.config_file.clone());
        let oncall = flags.oncall.or_else(|| config.alerter.oncall_file.clone());
        let external_url = config
            .alerter
            .external_url
            .clone()
            .unwrap_or_else(|| platform.url_of(platform.addresses.alerter));
        let mut peers = config.alerter.peers.clone();
        peers.extend(flags.peers);
        let cluster = match peers.is_empty() {
            true => None,
            false => Some(taishan_alerter::cluster::ClusterConfig {
                own_url: external_url.clone(),
                peers,
                peer_timeout: config.alerter.peer_timeout,
                secret: peer_secret(config.alerter.peer_secret_file.as_deref())?,
            }),
        };
        let options = AlerterOptions {
            external_url,
            cluster,
            config_file: file.clone(),
            oncall_file: oncall.clone(),
            link_ttl: config.alerter.link_ttl,
            resolve_muted: config.alerter.resolve_muted,
            resolve_muted_receivers: config.alerter.resolve_muted_receivers.clone(),
            history_retention: config.alerter.history_retention,
            data_dir: Some(data_dir.join("alerter")),
            rate_limits: config
                .alerter
                .rate_limits
                .iter()
                .map(|(name, l)| {
                    let limit = taishan_guard::RateLimitConfig {
                        rate: l.rate,
                        burst: l.burst,
                    };
                    (name.clone(), limit)
                })
                .collect(),
            ..AlerterOptions::default()
        };
        let http = Alerter::http_client(options.notify_timeout);
        if oncall.is_some() && file.is_none() {
            anyhow::bail!("an on-call file needs an alerter config whose routes name its teams (--alerter-config)");
        }
        let compiled = match &file {
            Some(path) => {
                let (path, oncall, http) = (path.clone(), oncall.clone(), http.clone());
                tokio::task::spawn_blocking(move || {
                    CompiledConfig::load_files(&path, oncall.as_deref(), &http)
                })
                .await
                .context("loading the alerter config")?
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("the alerter config is refused")?
            }
            None => match &flags.demo_pager {
                Some(pager) => {
                    let oncall = taishan_alerter::OnCallSource {
                        file: "alerter/demo/oncall.yaml (built in)".into(),
                        text: DEMO_ONCALL.replace(DEMO_PAGER_URL, pager),
                    };
                    let file = "alerter/demo/alertmanager.yml (built in)";
                    CompiledConfig::compile_with_oncall(file, DEMO_CONFIG, Some(&oncall), &http)
                }
                None => CompiledConfig::compile("(built-in alerter config)", HOLD_ONLY, &http),
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        for name in options.rate_limits.keys() {
            if !compiled.receivers.contains_key(name) {
                tracing::warn!(receiver = %name, "alerter.rate_limits names a receiver the alerter config does not have");
            }
        }
        let alerter = Alerter::new(compiled, clock, options, metrics, http)
            .context("opening the alerter's state")?;
        Ok(Self {
            alerter,
            config_file: file,
        })
    }

    /// The alerter's files as the command line gives them, and the demo's pager.
    pub fn files(args: &UpArgs, demo_pager: Option<String>) -> AlerterFiles {
        AlerterFiles {
            config: args.alerter_config.clone(),
            oncall: args.alerter_oncall.clone(),
            peers: args.alerter_peers.clone(),
            demo_pager,
        }
    }
}

#[async_trait]
impl Part for AlerterPart {
    fn name(&self) -> &'static str {
        "alerter"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        let routes = || alerter_routes(self.alerter.clone());
        vec![
            Endpoint::Http(ListenerKind::Alerter, routes()),
            Endpoint::Http(ListenerKind::Api, Router::new().nest("/alerter", routes())),
        ]
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let flusher = tokio::spawn(self.alerter.clone().run(cancel.clone()));
        let reloads = tokio::spawn(reload_on_sighup(self.alerter.clone(), cancel.clone()));
        Ok(vec![flusher, reloads])
    }
}

async fn reload_on_sighup(alerter: Arc<Alerter>, cancel: CancellationToken) {
    crate::up::sighup::on_each_sighup(cancel, move || {
        let me = alerter.clone();
        async move {
            match tokio::task::spawn_blocking(move || me.reload()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(problems = %e, "alerter reload refused; the config in force stays")
                }
                Err(e) => tracing::error!(error = %e, "alerter reload failed"),
            }
        }
    })
    .await
}

/// The secret the replicas share: peers must prove themselves on the cluster route, so a
/// replica with peers and no secret does not start.
fn peer_secret(file: Option<&std::path::Path>) -> anyhow::Result<taishan_core::Secret> {
    let Some(file) = file else {
        anyhow::bail!("alerter.peers are set but alerter.peer_secret_file is not: every replica needs the same secret in a file of mode 0600 (e.g. head -c 32 /dev/urandom | base64 > peer.secret; chmod 600 peer.secret)");
    };
    taishan_core::secret::secret_from_file(file)
        .map_err(|why| anyhow::anyhow!("alerter.peer_secret_file: {why}"))
}
