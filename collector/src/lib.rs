//! `taishan-collector`: the receivers that take telemetry in.
//!
//! Every receiver decodes and validates a whole request before publishing it to the
//! [`taishan_core::Bus`]; a malformed entry refuses the request whole, so nothing of a bad
//! request is stored. Clients are answered from the bus's result: 2xx only once durable,
//! 429 with `Retry-After` when storage is saturated, 413 for oversized bodies.
#![forbid(unsafe_code)]

pub mod http;
pub mod metrics;
pub mod receivers;
pub mod scrape;
pub mod tenant;

pub use http::{ingest_routes, IngestState};
pub use metrics::IngestMetrics;
pub use receivers::json_logs::json_logs_routes;
pub use receivers::otlp::grpc::otlp_grpc_services;
pub use receivers::otlp::http::otlp_http_routes;
pub use receivers::otlp::OtlpState;
pub use scrape::{ScrapeManager, ScrapeTarget};
