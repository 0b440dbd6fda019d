//! The Prometheus HTTP API (`/api/v1/...`), GET and POST form alike: what Grafana's
//! Prometheus data source and `promtool query` call.

mod cardinality;
mod common;
pub use common::tenant;
pub mod gate;
mod logs;
mod metadata;
pub mod params;
mod query;
pub mod response;
mod status;
mod topology;
mod traces;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};
use taishan_core::{Clock, MetadataRegistry};
use taishan_store::Tsdb;

use crate::engine::{Engine, QueryLimits};

/// Query-side metrics.
#[derive(Clone, Debug)]
pub struct QueryMetrics {
    /// Time to answer, by endpoint.
    pub duration: HistogramVec,
    /// Failed requests, by endpoint and Prometheus error type.
    pub errors: IntCounterVec,
    /// Samples read from storage by PromQL queries.
    pub samples_read: IntCounter,
}

impl QueryMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "taishan_query_duration_seconds",
                "Time to answer a query API request, by endpoint.",
            ),
            &["endpoint"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "taishan_query_errors_total",
                "Query API requests that failed, by endpoint and error type (bad_data, execution, timeout, internal).",
            ),
            &["endpoint", "type"],
        )?;
        let samples_read = IntCounter::new(
            "taishan_query_samples_read_total",
            "Samples read from storage by PromQL queries.",
        )?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(samples_read.clone()))?;
        Ok(Self {
            duration,
            errors,
            samples_read,
        })
    }
}

/// What the status endpoints report about the running server.
#[derive(Debug, Clone, Default)]
pub struct ServerStatus {
    /// The configuration in force, as YAML.
    pub config_yaml: String,
    /// Command-line settings, by Prometheus-style flag name.
    pub flags: BTreeMap<String, String>,
    /// When the server started (ms).
    pub start_time_ms: i64,
    /// Retention, e.g. `15d`.
    pub retention: String,
}

/// What the handlers share.
#[derive(Clone)]
pub struct QueryState {
    /// The store.
    pub db: Arc<Tsdb>,
    /// Evaluation.
    pub engine: Engine,
    /// "Now" for queries without a time.
    pub clock: Arc<dyn Clock>,
    /// Metadata of scraped metric families.
    pub metadata: MetadataRegistry,
    /// Facts for the status endpoints.
    pub status: Arc<ServerStatus>,
    /// Admission of PromQL queries.
    pub gate: gate::QueryGate,
    /// The trace store, when this server keeps traces.
    pub traces: Option<Arc<taishan_store::TraceStore>>,
    /// The log store, when this server keeps logs.
    pub logs: Option<Arc<taishan_store::LogStore>>,
    /// Metrics.
    pub metrics: QueryMetrics,
}

impl QueryState {
    /// Sharing `gate` with the other query-like routes (dashboards, the analyzer), so
    /// the concurrency limits count every query of the process.
    pub fn with_gate(mut self, gate: gate::QueryGate) -> Self {
        self.gate = gate;
        self
    }

    /// State over `db`, evaluating under `limits`.
    pub fn new(
        db: Arc<Tsdb>,
        limits: QueryLimits,
        clock: Arc<dyn Clock>,
        metrics: QueryMetrics,
    ) -> Self {
        Self {
            engine: Engine::new(db.clone(), limits, clock.clone()),
            gate: gate::QueryGate::new(limits.max_concurrency, limits.max_concurrency_per_tenant),
            traces: None,
            logs: None,
            db,
            clock,
            metadata: MetadataRegistry::new(),
            status: Arc::new(ServerStatus::default()),
            metrics,
        }
    }

    /// With the metadata registry scrapers write to.
    pub fn with_metadata(mut self, metadata: MetadataRegistry) -> Self {
        self.metadata = metadata;
        self
    }

    /// With the trace store the trace endpoints read.
    pub fn with_traces(mut self, traces: Arc<taishan_store::TraceStore>) -> Self {
        self.traces = Some(traces);
        self
    }

    /// With the log store the log endpoints read.
    pub fn with_logs(mut self, logs: Arc<taishan_store::LogStore>) -> Self {
        self.logs = Some(logs);
        self
    }

    /// With the facts the status endpoints report.
    pub fn with_status(mut self, status: ServerStatus) -> Self {
        self.status = Arc::new(status);
        self
    }
}

/// The query API routes.
pub fn query_routes(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/query", get(query::query).post(query::query))
        .route(
            "/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route(
            "/api/v1/query_exemplars",
            get(query::query_exemplars).post(query::query_exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(query::parse_query).post(query::parse_query),
        )
        .route(
            "/api/v1/series",
            get(metadata::series).post(metadata::series),
        )
        .route(
            "/api/v1/labels",
            get(metadata::labels).post(metadata::labels),
        )
        .route("/api/v1/label/{name}/values", get(metadata::label_values))
        .route("/api/v1/metadata", get(metadata::metadata))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/traces/{trace_id}", get(traces::trace_by_id))
        .route("/api/search", get(traces::search))
        .route("/api/services", get(traces::services))
        .route("/api/topology", get(topology::topology))
        .route("/api/logs/search", get(logs::search))
        .route(
            "/api/services/{service}/operations",
            get(traces::operations),
        )
        .with_state(state)
}
