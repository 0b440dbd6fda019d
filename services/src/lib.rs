//! `taishan-services`: the financial domain services Taishan watches, run as instrumented
//! modules so the whole loop works on one machine.
//!
//! Each service has its own axum HTTP API on loopback, its own state, and calls the others
//! over HTTP with the trace context propagated; it reaches the platform only through OTLP,
//! like any external app. The money must always add up: the ledger is double-entry, payments
//! are idempotent per key and never paid out twice, reconciliation finds every difference
//! with its money value, and compensation drives stuck transfers to a final state.
#![forbid(unsafe_code)]

pub mod db;
pub mod error;
pub mod ledger;
pub mod money;
pub mod telemetry;

pub use error::ServiceError;
pub use money::Money;
