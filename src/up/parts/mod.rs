//! The parts `taishan up` runs, each an adapter from a part's crate to the composition's
//! contract ([`super::part::Part`]): what it serves where, what it runs, how it stops.

mod alerter;
mod analyzer;
mod chaos;
mod dashboards;
mod demo;
mod guards;
mod ingest;
mod own_metrics;
mod query;
mod rules;
mod storage;

pub use alerter::AlerterPart;
pub use analyzer::AnalyzerSetup;
pub use chaos::ChaosPart;
pub use dashboards::DashboardsPart;
pub use demo::{DemoPagerPart, DemoPart};
pub use guards::GuardsPart;
pub use ingest::IngestPart;
pub use own_metrics::OwnMetricsPart;
pub use query::QueryPart;
pub use rules::RulesPart;
pub use storage::StoragePart;
