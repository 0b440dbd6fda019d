//! `taishan-collector`: the receivers that take telemetry in.
//!
//! [`receivers`] holds the family (its contract, one file per receiver, one registration
//! list) and builds the whole ingest surface from it ([`ingest_surface`]); every receiver
//! writes through [`IngestState`], takes its tenant from [`tenant`] and answers refusals
//! through [`IngestError`], mapped to HTTP and gRPC in [`errors`]. [`scrape`] pulls
//! Prometheus targets.
#![forbid(unsafe_code)]

pub mod config;
pub mod errors;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod receivers;
pub mod rpc;
pub mod scrape;
pub mod tenant;

pub use config::{IngestConfig, ScrapeConfig, ScrapeJob};
pub use errors::{ErrorBody, IngestError};
pub use ingest::{IngestPath, IngestState};
pub use limits::TenantLimits;
pub use metrics::IngestMetrics;
pub use receivers::{ingest_surface, IngestSurface, Receiver, UnknownReceiver, RECEIVERS};
pub use scrape::{ScrapeManager, ScrapeTarget};
