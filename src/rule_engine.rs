//! The rule engine inside `taishan up`: the configured rule files (and the demo's), their
//! groups evaluated against the store, and their API.

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use taishan_core::config::Config;
use taishan_core::{Bus, Clock};
use taishan_query::Engine;
use taishan_rules::{BusWriter, ManagerOptions, RuleFile, RuleManager, RuleMetrics};
use taishan_store::Tsdb;

/// Reads every configured rule file; all problems of all files are reported together.
pub fn load_rule_files(config: &Config) -> anyhow::Result<Vec<RuleFile>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for pattern in &config.rules.files {
        let pattern = pattern.display().to_string();
        let matched = taishan_rules::paths::glob(Path::new("."), &pattern);
        if matched.is_empty() {
            problems.push(format!("rules.files: no file matches {pattern}"));
        }
        for path in matched {
            match RuleFile::load(&path) {
                Ok(f) => files.push(f),
                Err(errs) => problems.extend(errs.iter().map(|e| e.to_string())),
            }
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!("{} problem(s) in the rule files", problems.len());
    }
    Ok(files)
}

/// Starts evaluating `files` against `db`, writing through `bus`.
pub async fn start(
    config: &Config,
    files: &[RuleFile],
    db: Arc<Tsdb>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    metrics: RuleMetrics,
    ui_url: String,
) -> Arc<RuleManager> {
    let options = ManagerOptions {
        default_interval: config.rules.evaluation_interval,
        external_labels: config.rules.external_labels.clone(),
        external_url: config.rules.external_url.clone().unwrap_or(ui_url),
        outage_tolerance: config.rules.outage_tolerance,
        for_grace_period: config.rules.for_grace_period,
    };
    let writer = Arc::new(BusWriter::new(bus, tokio::runtime::Handle::current()));
    let engine = Engine::new(db.clone(), config.query, clock.clone());
    let manager = RuleManager::new(engine, db, writer, clock, options, metrics);
    manager.apply(files).await;
    manager
}
