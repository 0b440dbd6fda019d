//! `taishan-services`: the financial domain services Taishan watches, run as instrumented
//! modules so the whole loop works on one machine.
//!
//! Each service has its own axum HTTP API on loopback, its own state, and calls the others
//! over HTTP with the trace context propagated; it reaches the platform only through OTLP,
//! like any external app. The money must always add up: the ledger is double-entry, payments
//! are idempotent per key and never paid out twice, reconciliation finds every difference
//! with its money value, and compensation drives stuck transfers to a final state. Each
//! service can crash and restart in place, and the payment side reaches the ledger through a
//! fault proxy, so drills can take a service down or cut a link on real sockets.
#![forbid(unsafe_code)]
// Amounts are written in minor units grouped as yuan_fen: 1_000_00 is 1000.00.
#![allow(clippy::inconsistent_digit_grouping)]

pub mod bank;
mod books;
pub mod clearing;
pub mod compensation;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod gateway;
mod host;
pub mod ledger;
pub mod loan;
pub mod money;
pub mod pager;
pub mod payment;
pub mod reconciliation;
pub mod risk;
pub mod telemetry;
pub mod traffic;

pub use books::DemoBooks;
pub use config::{DemoConfig, TrafficConfig};
pub use demo::{Demo, DemoOptions, LEDGER_LINK, SERVICES};
pub use error::ServiceError;
pub use money::Money;
pub use telemetry::{ExportTls, TelemetryConfig};
pub use traffic::{Traffic, TrafficStats, TrafficTotals};
