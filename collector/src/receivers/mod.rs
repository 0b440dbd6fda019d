//! Push receivers: each turns one wire format into [`taishan_core::MetricBatch`]es.
//!
//! The contract every receiver keeps:
//! - decode and validate the whole request first; any malformed entry refuses the request
//!   whole with 400 and a reason that says where (line number, series index);
//! - publish through [`crate::IngestState::publish`], which maps the bus's answer to the
//!   status codes (2xx only when durable, 429 + `Retry-After` when saturated);
//! - never hold more than the configured body size in memory.
//!
//! Registration is one place: [`crate::http::ingest_routes`] lists every route.

pub mod influx;
pub mod json_logs;
pub mod line_protocol;
pub mod otlp;
pub mod prompb;
pub mod remote_write;
pub mod remote_write_wire;
