//! `taishan-query`: reading the store back in PromQL, over Prometheus's HTTP API.
//!
//! [`engine`] evaluates PromQL against [`taishan_store::Tsdb`] (parsing by the
//! `promql-parser` crate, evaluation here, under [`QueryLimits`]); [`promqltest`] runs
//! Prometheus's own test scripts against it; [`api`] serves the Prometheus HTTP API
//! (`/api/v1/query`, `query_range`, `series`, `labels`, metadata and status endpoints) in
//! Prometheus's JSON shapes, tenant by tenant.
#![forbid(unsafe_code)]

pub mod api;
pub mod engine;
pub mod promqltest;

pub use api::{query_routes, QueryMetrics, QueryState};
pub use engine::{
    Annotations, Engine, QueryError, QueryLimits, QueryOutput, QueryStats, QueryValue,
};
