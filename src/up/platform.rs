//! What the parts of `taishan up` are built from and share: the config and the command
//! line, the clock, Taishan's own metrics, the stores, the listeners' addresses, the edge's
//! layers, the guard control plane and the fault set (the rules, operators and drills act
//! through them), and whether the demo runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use taishan_alerter::AlerterMetrics;
use taishan_collector::IngestMetrics;
use taishan_core::{Clock, MetadataRegistry, SystemClock};
use taishan_edge::Edge;
use taishan_guard_control::{ControlMetrics, ControlPlane};
use taishan_query::QueryMetrics;
use taishan_rules::RuleMetrics;
use taishan_store::StoreMetrics;

use super::config::Config;
use super::listeners::Addresses;
use super::self_metrics;
use super::stores::Stores;
use crate::cmd::up::UpArgs;

/// Taishan's own metrics, registered, each handed to its part.
pub struct OwnMetrics {
    /// Where they are all registered (served at `/metrics`).
    pub registry: prometheus::Registry,
    /// Ingest's.
    pub ingest: IngestMetrics,
    /// The query API's.
    pub query: QueryMetrics,
    /// The rule engine's.
    pub rules: RuleMetrics,
    /// The alerter's.
    pub alerter: AlerterMetrics,
}

/// What every part is built from.
pub struct Platform {
    /// The config in force.
    pub config: Config,
    /// The command line.
    pub args: UpArgs,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Taishan's own metrics.
    pub metrics: OwnMetrics,
    /// The stores.
    pub stores: Stores,
    /// Where each listener is bound.
    pub addresses: Addresses,
    /// The layers every listener gets.
    pub edge: Edge,
    /// The guard control plane (rules, operators and the demo's guards).
    pub plane: Arc<ControlPlane>,
    /// The faults drills arm against the demo services.
    pub faults: taishan_chaos::FaultSet,
    /// Metric metadata: scrapes record it, the query API serves it.
    pub metadata: MetadataRegistry,
    /// Whether the demo services run.
    pub demo_on: bool,
    /// The one query gate: every query-like route takes its turns from it.
    pub gate: taishan_query::QueryGate,
}

impl Platform {
    /// Registers the metrics and opens the stores and the control plane.
    pub async fn open(
        config: Config,
        args: UpArgs,
        addresses: Addresses,
        edge: Edge,
    ) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let registry = self_metrics::registry();
        let store = StoreMetrics::register(&registry).context("registering storage metrics")?;
        let guards = ControlMetrics::register(&registry).context("registering guard metrics")?;
        let metrics = OwnMetrics {
            ingest: IngestMetrics::register(&registry).context("registering ingest metrics")?,
            query: QueryMetrics::register(&registry).context("registering query metrics")?,
            rules: RuleMetrics::register(&registry).context("registering rule metrics")?,
            alerter: AlerterMetrics::register(&registry).context("registering alerter metrics")?,
            registry,
        };
        let stores = Stores::open(&config, &args.data_dir, clock.clone(), store).await?;
        let plane = open_control_plane(&args.data_dir, clock.clone(), guards).await?;
        let query = &config.query;
        let gate =
            taishan_query::QueryGate::new(query.max_concurrency, query.max_concurrency_per_tenant);
        Ok(Self {
            gate,
            demo_on: config.demo.enabled && !args.no_demo,
            faults: taishan_chaos::FaultSet::new(clock.clone(), clock.now_ms() as u64),
            edge,
            metadata: MetadataRegistry::new(),
            config,
            args,
            clock,
            metrics,
            stores,
            addresses,
            plane,
        })
    }

    /// Where data lives.
    pub fn data_dir(&self) -> &PathBuf {
        &self.args.data_dir
    }

    /// The pages' own address, for links in alerts (`$externalURL` unless configured).
    pub fn ui_url(&self) -> String {
        self.url_of(self.addresses.api)
    }

    /// The URL of listener `addr` as this process's own clients reach it: `https` when
    /// the listeners serve TLS, and loopback for an address bound on every interface.
    pub fn url_of(&self, addr: SocketAddr) -> String {
        format!("{}://{}", self.edge.scheme(), reachable(addr))
    }

    /// A client of this process's own listeners: over TLS it trusts exactly the
    /// certificate they serve (see `taishan_edge::tls`).
    pub fn own_client(&self) -> anyhow::Result<reqwest::Client> {
        let builder =
            reqwest::Client::builder().user_agent(concat!("taishan/", env!("CARGO_PKG_VERSION")));
        let builder = match self.edge.tls() {
            Some(tls) => builder.use_preconfigured_tls((*tls.own_client_config()?).clone()),
            None => builder,
        };
        builder
            .build()
            .context("building the client of Taishan's own listeners")
    }

    /// The `Authorization` this process's own clients send (never shown).
    pub fn own_authorization(&self) -> taishan_core::Secret {
        taishan_core::Secret::new(self.edge.authority().own_authorization())
    }

    /// A query engine over the metric store.
    pub fn engine(&self) -> taishan_query::Engine {
        taishan_query::Engine::new(
            self.stores.db.clone(),
            self.config.query,
            self.clock.clone(),
        )
    }
}

/// Opens the guard control plane whose audit log lives under `data_dir`.
async fn open_control_plane(
    data_dir: &std::path::Path,
    clock: Arc<dyn Clock>,
    metrics: ControlMetrics,
) -> anyhow::Result<Arc<ControlPlane>> {
    let path = data_dir.join("guards").join("audit.jsonl");
    let plane = tokio::task::spawn_blocking(move || ControlPlane::open(&path, clock))
        .await
        .context("opening the guard control plane")?
        .context("opening the guard control plane")?;
    Ok(Arc::new(plane.with_metrics(metrics)))
}

/// `addr`, or loopback at its port when it is bound on every interface.
pub fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip([127, 0, 0, 1].into());
    }
    addr
}
