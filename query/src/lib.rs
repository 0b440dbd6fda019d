//! `taishan-query`: reading the store back in PromQL, over Prometheus's HTTP API.
//!
//! [`engine`] evaluates PromQL against [`taishan_store::Tsdb`] (parsing by the
//! `promql-parser` crate, evaluation here, under [`QueryLimits`]); [`promqltest`] runs
//! Prometheus's own test scripts against it; [`api`] serves the Prometheus HTTP API
//! (`/api/v1/query`, `query_range`, `series`, `labels`, metadata and status endpoints) in
//! Prometheus's JSON shapes, tenant by tenant. The engine's and the API's internals stay
//! inside the crate: the rules and the binary use what is re-exported here.
#![forbid(unsafe_code)]

mod api;
pub mod config;
mod engine;
pub mod promqltest;

pub use api::gate::{QueryGate, Turn};
pub use api::response::{success, ApiError};
pub use api::{query_routes, tenant, QueryMetrics, QueryState, ServerStatus};
pub use config::QueryConfig;
pub use engine::value::Grid;
pub use engine::{
    each_node, Annotations, Engine, QueryError, QueryLimits, QueryOutput, QueryStats, QueryValue,
};
