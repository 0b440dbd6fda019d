//! The alerter of `taishan up`: its config (`--alerter-config`, else `alerter.config_file`,
//! else one receiver that holds alerts without notifying), its API on `alerter.listen`,
//! its flush loop, and reloads on `POST /-/reload` and SIGHUP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::up::config::Config;
use anyhow::Context;
use taishan_alerter::{alerter_routes, Alerter, AlerterMetrics, AlerterOptions, CompiledConfig};
use taishan_core::Clock;
use taishan_edge::{Edge, ListenerKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Used when no alerter config is given: alerts are grouped and shown, notified to nobody.
const HOLD_ONLY: &str = "route:\n  receiver: hold\nreceivers:\n  - name: hold\n";

/// Used with the demo when no alerter config is given: the demo's on-call team, paged on the
/// demo's pager.
const DEMO_CONFIG: &str = include_str!("../../alerter/demo/alertmanager.yml");
const DEMO_ONCALL: &str = include_str!("../../alerter/demo/oncall.yaml");
/// Where the demo on-call file expects the pager; replaced by where it listens.
const DEMO_PAGER_URL: &str = "http://127.0.0.1:7109";

/// The demo's on-call phones, listening.
pub struct DemoPager {
    /// The phones.
    pub pager: Arc<taishan_services::pager::Pager>,
    /// Their base URL.
    pub url: String,
    listener: tokio::net::TcpListener,
}

impl DemoPager {
    /// Binds the pager beside the demo services (`demo.base_port + 9`).
    pub async fn bind(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let port = match config.demo.base_port {
            0 => 0,
            base => base + 9,
        };
        let addr = SocketAddr::new(config.demo.listen, port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the demo pager on {addr}"))?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok(Self {
            pager: taishan_services::pager::Pager::new(clock),
            url,
            listener,
        })
    }

    /// Serves `GET /pages` and the alerter's `POST /pages/{person}` until `cancel`.
    pub fn spawn(self, cancel: &CancellationToken) -> JoinHandle<()> {
        let app = taishan_services::pager::router(self.pager);
        let stop = cancel.clone();
        tokio::spawn(async move {
            let served = axum::serve(self.listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the demo pager stopped");
            }
        })
    }
}

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

/// The alerter, built and listening.
pub struct AlerterServer {
    /// The alerter.
    pub alerter: Arc<Alerter>,
    /// Where its API listens.
    pub addr: SocketAddr,
    /// Its config file, if any.
    pub config_file: Option<PathBuf>,
    listener: tokio::net::TcpListener,
}

impl AlerterServer {
    /// Loads the config and binds the API.
    pub async fn open(
        config: &Config,
        flags: AlerterFiles,
        data_dir: &std::path::Path,
        clock: Arc<dyn Clock>,
        metrics: AlerterMetrics,
    ) -> anyhow::Result<Self> {
        let file = flags.config.or_else(|| config.alerter.config_file.clone());
        let oncall = flags.oncall.or_else(|| config.alerter.oncall_file.clone());
        let external_url = config
            .alerter
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.alerter.listen));
        let mut peers = config.alerter.peers.clone();
        peers.extend(flags.peers);
        let cluster = (!peers.is_empty()).then(|| taishan_alerter::cluster::ClusterConfig {
            own_url: external_url.clone(),
            peers,
            peer_timeout: config.alerter.peer_timeout,
        });
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
        let listener = tokio::net::TcpListener::bind(config.alerter.listen)
            .await
            .with_context(|| format!("binding the alerter API on {}", config.alerter.listen))?;
        let addr = listener
            .local_addr()
            .context("reading the alerter's address")?;
        Ok(Self {
            alerter,
            addr,
            config_file: file,
            listener,
        })
    }

    /// Serves the API and runs the flush loop and SIGHUP reloads until `cancel`.
    pub fn spawn(self, edge: &Edge, cancel: &CancellationToken) -> Vec<JoinHandle<()>> {
        let app = edge.wrap(ListenerKind::Alerter, alerter_routes(self.alerter.clone()));
        let shutdown = cancel.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(self.listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the alerter API stopped");
            }
        });
        let flusher = tokio::spawn(self.alerter.clone().run(cancel.clone()));
        let reloads = tokio::spawn(reload_on_sighup(self.alerter, cancel.clone()));
        vec![server, flusher, reloads]
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
