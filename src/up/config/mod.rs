//! The config file of `taishan up`: every part's section, listed once. Each part owns its
//! section (struct, defaults, checks) in its own crate; this file only says which sections
//! the platform's file has, and `taishan check` reports every problem in all of them.

use std::path::Path;

use serde::Serialize;
use taishan_alerter::AlerterConfig;
use taishan_analyzer::AnalyzerConfig;
use taishan_chaos::ChaosConfig;
use taishan_collector::{IngestConfig, ScrapeConfig};
use taishan_core::config::{self, ConfigDiagnostic, SectionSlot, SectionedConfig};
use taishan_edge::ServerConfig;
use taishan_query::QueryConfig;
use taishan_rules::RulesConfig;
use taishan_services::DemoConfig;
use taishan_store::{LogsConfig, StorageConfig, TracesConfig};

/// The whole configuration of a `taishan up` process.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Config {
    /// Listening addresses.
    pub server: ServerConfig,
    /// The embedded metrics store.
    pub storage: StorageConfig,
    /// Receivers and ingest limits.
    pub ingest: IngestConfig,
    /// Scraping of static targets.
    pub scrape: ScrapeConfig,
    /// Query limits.
    pub query: QueryConfig,
    /// The trace store.
    pub traces: TracesConfig,
    /// The log store.
    pub logs: LogsConfig,
    /// The demo financial services and their traffic.
    pub demo: DemoConfig,
    /// The rule engine.
    pub rules: RulesConfig,
    /// The Alertmanager-compatible alerter.
    pub alerter: AlerterConfig,
    /// Drills: where they are and their schedule; fault proxies.
    pub chaos: ChaosConfig,
    /// The anomaly detectors: what they watch.
    pub analyzer: AnalyzerConfig,
}

impl SectionedConfig for Config {
    fn sections(&mut self) -> Vec<&mut dyn SectionSlot> {
        vec![
            &mut self.server,
            &mut self.storage,
            &mut self.ingest,
            &mut self.scrape,
            &mut self.query,
            &mut self.traces,
            &mut self.logs,
            &mut self.demo,
            &mut self.rules,
            &mut self.alerter,
            &mut self.chaos,
            &mut self.analyzer,
        ]
    }
}

impl Config {
    /// Reads and checks a config file: every part checks its own section.
    pub fn load_file(path: &Path) -> Result<Config, Vec<ConfigDiagnostic>> {
        config::load_file(path)
    }
}

#[cfg(test)]
mod tests;
