//! The analyzer as a part of a running Taishan: its watches scored at each interval and
//! written back as series ([`LiveAnalyzer`]), each firing alert's root causes ranked off the
//! evaluation path and annotated on the alert ([`RootCauseNotes`]), and its API on the API
//! address ([`routes`]): the watches and their scores, root cause on demand
//! (`/api/v1/analyzer/rca`) and seasonal forecasts (`/api/v1/analyzer/forecast`).

mod forecast_api;
mod rca_api;
mod rca_subject;
mod root_cause;
mod runtime;

use std::sync::Arc;

use axum::Router;
use taishan_core::Clock;
use taishan_query::{Engine, QueryGate};
use taishan_rules::RuleManager;

pub use root_cause::{RootCauseNotes, RootCauseWorker};
pub use runtime::{demo_watches, LiveAnalyzer, LiveError};

/// Every route of the analyzer's API: `live`'s watches, root cause over `rules`' alerts,
/// and forecasts, each reading the caller's tenant through `engine` with a turn of `gate`
/// (the query API's, so the concurrency limits count these too).
pub fn routes(
    live: &LiveAnalyzer,
    engine: Engine,
    gate: QueryGate,
    rules: Arc<RuleManager>,
    clock: Arc<dyn Clock>,
) -> Router {
    live.routes()
        .merge(rca_api::routes(rca_api::RcaState {
            engine: engine.clone(),
            gate: gate.clone(),
            rules,
            clock: clock.clone(),
        }))
        .merge(forecast_api::routes(forecast_api::ForecastState {
            engine,
            gate,
            clock,
        }))
}
