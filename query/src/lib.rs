//! `taishan-query`: reading the store back in PromQL, over Prometheus's HTTP API.
//!
//! [`eval`] evaluates expressions against [`taishan_store::Tsdb`] (parsing by the
//! `promql-parser` crate); [`api`] serves `/api/v1/query`, `query_range`, `series`, `labels`,
//! `label/<name>/values` and `status/buildinfo` in Prometheus's JSON shapes, tenant by tenant.
#![forbid(unsafe_code)]

pub mod api;
pub mod eval;

pub use api::{query_routes, QueryMetrics, QueryState};
pub use eval::{Evaluator, QueryError, QueryValue};
