//! OTLP receivers (OpenTelemetry protocol 1.x): OTLP/HTTP (`/v1/metrics`, protobuf or JSON,
//! plain or gzip) and OTLP/gRPC, sharing one conversion per signal.
//!
//! The contract (from the OTLP specification): a request that does not decode is refused
//! whole (HTTP 400 with a `google.rpc.Status` body; gRPC `INVALID_ARGUMENT`); a request
//! that decodes is stored as far as it converts, and the points that could not be are
//! reported in `partial_success`; when storage is saturated the answer is HTTP 429 with
//! `Retry-After` or gRPC `RESOURCE_EXHAUSTED`, and nothing of the request is stored.

pub mod delta;
pub mod grpc;
mod grpc_traces;
pub mod http;
pub mod metrics;
pub mod naming;
mod series;
mod store;

use std::sync::Arc;

use crate::ingest::{IngestPath, IngestState};
use metrics::MetricsConverter;

/// The ingest path label of OTLP, over HTTP and gRPC alike.
pub const PATH: IngestPath = IngestPath::new("otlp");

/// What the OTLP receivers share, over HTTP and gRPC alike: the common [`IngestState`] and
/// the one metric converter, whose running totals of delta series must be the same whichever
/// way a series' points arrive.
#[derive(Clone)]
pub struct Otlp {
    /// Where what they decode goes.
    pub ingest: IngestState,
    /// Running totals of delta metrics.
    converter: Arc<MetricsConverter>,
}

impl Otlp {
    /// The OTLP receivers over `ingest`, with no running totals yet.
    pub fn new(ingest: IngestState) -> Self {
        Otlp {
            ingest,
            converter: Arc::new(MetricsConverter::new()),
        }
    }
}
