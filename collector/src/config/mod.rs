//! The collector's sections of the config file: `ingest:` (receivers, limits, tenants) and
//! `scrape:` (static targets).

mod ingest;
mod scrape;

pub use ingest::IngestConfig;
pub use scrape::{ScrapeConfig, ScrapeJob};
