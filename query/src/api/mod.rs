//! The Prometheus HTTP API (`/api/v1/...`), GET and POST form alike.

mod handlers;
pub mod params;
pub mod response;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use prometheus::{HistogramOpts, HistogramVec, Registry};
use taishan_core::Clock;
use taishan_store::Tsdb;

use crate::engine::{Engine, QueryLimits};

/// Query-side metrics.
#[derive(Clone, Debug)]
pub struct QueryMetrics {
    /// Time to answer, by endpoint.
    pub duration: HistogramVec,
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
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { duration })
    }
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
    /// Metrics.
    pub metrics: QueryMetrics,
}

impl QueryState {
    /// State over `db`.
    pub fn new(
        db: Arc<Tsdb>,
        limits: QueryLimits,
        clock: Arc<dyn Clock>,
        metrics: QueryMetrics,
    ) -> Self {
        Self {
            engine: Engine::new(db.clone(), limits, clock.clone()),
            db,
            clock,
            metrics,
        }
    }
}

/// The query API routes.
pub fn query_routes(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/query", get(handlers::query).post(handlers::query))
        .route(
            "/api/v1/query_range",
            get(handlers::query_range).post(handlers::query_range),
        )
        .route(
            "/api/v1/series",
            get(handlers::series).post(handlers::series),
        )
        .route(
            "/api/v1/labels",
            get(handlers::labels).post(handlers::labels),
        )
        .route("/api/v1/label/{name}/values", get(handlers::label_values))
        .route("/api/v1/status/buildinfo", get(handlers::buildinfo))
        .with_state(state)
}
