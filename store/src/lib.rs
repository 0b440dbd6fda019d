//! `taishan-store`: the embedded time-series store.
//!
//! Writes enter through [`Tsdb::append`] (also the [`taishan_core::MetricSink`] the bus
//! delivers to): a single writer checks each batch against the in-memory [`head`], frames it
//! into the write-ahead log ([`wal`]), fsyncs once per group, then applies and acknowledges.
//! Maintenance cuts the head into immutable [`block`]s, compacts them and applies retention.
//! Queries merge blocks and head through label [`index`]es, tenant by tenant.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod append_gate;
pub mod block;
pub mod chunk;
mod codec;
pub mod config;
mod db;
pub mod error;
pub mod head;
pub mod index;
pub mod interned;
pub mod logs;
mod maintenance;
pub mod metrics;
pub mod seglog;
pub mod traces;
pub mod wal;
mod writer;

pub use config::{LogsConfig, StorageConfig, StorageLimits, TracesConfig, WalConfig, WalSync};
pub use db::{OpenReport, SeriesData, Tsdb, TsdbOptions};
pub use error::StoreError;
pub use index::{MatchOp, Matcher};
pub use logs::{LogQuery, LogStore, LogStoreOptions};
pub use maintenance::MaintenanceReport;
pub use metrics::StoreMetrics;
pub use traces::{TraceQuery, TraceStore, TraceStoreOptions, TraceSummary};
