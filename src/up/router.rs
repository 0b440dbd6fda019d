//! The API address's router of `taishan up`: what the receivers serve there, the query,
//! rules, guard and admin APIs, and Taishan's own `/metrics`.

use std::sync::Arc;

use crate::up::config::Config;
use axum::routing::get;
use axum::Router;
use prometheus::Registry;
use taishan_core::{Clock, MetadataRegistry};
use taishan_edge::{Edge, ListenerKind};
use taishan_guard_control::{guard_routes, ControlPlane};
use taishan_query::{query_routes, QueryMetrics, QueryState, ServerStatus};
use taishan_rules::rules_routes;

use super::rule_engine::{self, RuleEngine};
use super::stores::Stores;
use super::{admin, self_metrics};
use crate::cmd::up::UpArgs;

/// What the API router serves.
pub struct ApiParts<'a> {
    /// The web UI's pages.
    pub ui: taishan_dashboards::UiState,
    /// The receivers' routes for this address.
    pub ingest: Router,
    /// The config in force.
    pub config: &'a Config,
    /// The command line.
    pub args: &'a UpArgs,
    /// The stores.
    pub stores: &'a Stores,
    /// Metric metadata from scrapes.
    pub metadata: MetadataRegistry,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Query API metrics.
    pub query_metrics: QueryMetrics,
    /// The rule engine.
    pub rules: Arc<RuleEngine>,
    /// Whether the demo's rules are loaded.
    pub with_demo_rules: bool,
    /// The guard control plane.
    pub plane: Arc<ControlPlane>,
    /// The alerter, whose API the UI also reaches under `/alerter` (same origin as the pages).
    pub alerter: Arc<taishan_alerter::Alerter>,
    /// The faults drills arm against the demo services.
    pub faults: taishan_chaos::FaultSet,
    /// The demo's books, once the demo runs (drills' money proofs).
    pub books: taishan_chaos::api::BooksSlot,
    /// The drill reports.
    pub drill_history: Arc<taishan_chaos::api::DrillHistory>,
    /// The drills this process runs itself.
    pub drill_desk: Arc<taishan_chaos::api::DrillDesk>,
    /// The analyzer's API.
    pub analyzer: Router,
    /// Taishan's own metrics.
    pub registry: Registry,
    /// The layers every listener gets.
    pub edge: &'a Edge,
}

/// The whole router of the API address.
pub fn api_router(p: ApiParts<'_>) -> Router {
    let status = server_status(p.config, p.args, p.clock.now_ms());
    let query = QueryState::new(
        p.stores.db.clone(),
        p.config.query,
        p.clock,
        p.query_metrics,
    )
    .with_metadata(p.metadata)
    .with_traces(p.stores.traces.clone())
    .with_logs(p.stores.logs.clone())
    .with_status(status);
    let registry = p.registry;
    let routes = Router::new()
        .merge(p.ingest)
        .merge(query_routes(query))
        .merge(admin::routes(p.stores.db.clone()))
        .merge(p.analyzer)
        .merge(rules_routes(p.rules.manager.clone()))
        .merge(rule_engine::reload_routes(
            p.rules,
            p.config.clone(),
            p.with_demo_rules,
        ))
        .merge(guard_routes(p.plane))
        .merge(taishan_chaos::api::faults::routes(p.faults))
        .merge(taishan_chaos::api::books::routes(p.books))
        .merge(taishan_chaos::api::history::routes(p.drill_history))
        .merge(taishan_chaos::api::drills::routes(p.drill_desk))
        .merge(taishan_dashboards::ui_routes(p.ui))
        .nest("/alerter", taishan_alerter::alerter_routes(p.alerter))
        .route(
            "/metrics",
            get(move || async move { self_metrics::render(&registry) }),
        );
    p.edge.wrap(ListenerKind::Api, routes)
}

/// What `/api/v1/status/*` reports: the config, the settings as Prometheus-style flags.
fn server_status(config: &Config, args: &UpArgs, now_ms: i64) -> ServerStatus {
    let duration = |d: std::time::Duration| humantime::format_duration(d).to_string();
    let flags = [
        (
            "config.file",
            args.config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("storage.tsdb.path", args.data_dir.display().to_string()),
        (
            "storage.tsdb.retention.time",
            duration(config.storage.retention),
        ),
        ("web.listen-address", config.server.http_listen.to_string()),
        ("query.timeout", duration(config.query.timeout)),
        ("query.max-samples", config.query.max_samples.to_string()),
        (
            "query.max-concurrency",
            config.query.max_concurrency.to_string(),
        ),
        (
            "query.lookback-delta",
            duration(config.query.lookback_delta),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ServerStatus {
        config_yaml: serde_yaml_ng::to_string(config).unwrap_or_default(),
        flags,
        start_time_ms: now_ms,
        retention: duration(config.storage.retention),
    }
}
