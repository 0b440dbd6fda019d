//! The rule engine inside `taishan up`: the configured rule and action files (and the
//! demo's), their groups evaluated against the store, their actions deciding through the
//! guard control plane, and their APIs.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use taishan_core::config::Config;
use taishan_core::{Bus, Clock, DecisionSource};
use taishan_guard::control::ControlPlane;
use taishan_query::Engine;
use taishan_rules::{
    ActionEngine, BusWriter, ManagerOptions, NamedText, RuleManager, RuleMetrics, RuleSet,
};
use taishan_store::Tsdb;

/// Reads every configured rule and action file, plus the demo's when `with_demo`; all
/// problems of all files are reported together.
pub fn load_rule_set(config: &Config, with_demo: bool) -> anyhow::Result<RuleSet> {
    let mut texts: Vec<NamedText> = if with_demo {
        taishan_rules::demo::demo_files()
    } else {
        Vec::new()
    };
    let mut problems = Vec::new();
    for pattern in &config.rules.files {
        let pattern = pattern.display().to_string();
        let matched = taishan_rules::paths::glob(Path::new("."), &pattern);
        if matched.is_empty() {
            problems.push(format!("rules.files: no file matches {pattern}"));
        }
        for path in matched {
            match std::fs::read_to_string(&path) {
                Ok(text) => texts.push(NamedText {
                    name: path.display().to_string(),
                    text,
                }),
                Err(e) => problems.push(format!("{}: cannot read the file: {e}", path.display())),
            }
        }
    }
    let set = match RuleSet::parse(&texts) {
        Ok(set) => Some(set),
        Err(errors) => {
            problems.extend(errors.iter().map(|e| e.to_string()));
            None
        }
    };
    match set {
        Some(set) if problems.is_empty() => Ok(set),
        _ => {
            for p in &problems {
                eprintln!("{p}");
            }
            bail!("{} problem(s) in the rule files", problems.len())
        }
    }
}

/// Opens the guard control plane whose audit log lives under `data_dir`.
pub async fn open_control_plane(
    data_dir: &Path,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<ControlPlane>> {
    let path = data_dir.join("guards").join("audit.jsonl");
    let plane = tokio::task::spawn_blocking(move || ControlPlane::open(&path, clock))
        .await
        .context("opening the guard control plane")?
        .context("opening the guard control plane")?;
    Ok(Arc::new(plane))
}

/// What the rule engine is made of at run time.
pub struct RuleEngineParts<'a> {
    /// The whole config.
    pub config: &'a Config,
    /// The store the rules query and write.
    pub db: Arc<Tsdb>,
    /// Where their output is published.
    pub bus: Arc<dyn Bus>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Their metrics.
    pub metrics: RuleMetrics,
    /// `$externalURL` when the config names none.
    pub ui_url: String,
    /// Where actions send their decisions.
    pub plane: Arc<ControlPlane>,
}

/// Starts evaluating `set`; its actions decide through the control plane.
pub async fn start(parts: RuleEngineParts<'_>, set: &RuleSet) -> Arc<RuleManager> {
    let config = parts.config;
    let options = ManagerOptions {
        default_interval: config.rules.evaluation_interval,
        external_labels: config.rules.external_labels.clone(),
        external_url: config.rules.external_url.clone().unwrap_or(parts.ui_url),
        outage_tolerance: config.rules.outage_tolerance,
        for_grace_period: config.rules.for_grace_period,
    };
    let writer = Arc::new(BusWriter::new(parts.bus, tokio::runtime::Handle::current()));
    let engine = Engine::new(parts.db.clone(), config.query, parts.clock.clone());
    let manager = RuleManager::new(
        engine,
        parts.db,
        writer,
        parts.clock,
        options,
        parts.metrics,
    );
    let actions: Vec<_> = set.actions.iter().flat_map(|f| f.actions.clone()).collect();
    if !actions.is_empty() {
        let engine = Arc::new(ActionEngine::new(actions, parts.plane.clone()));
        // Rule decisions still in force from before a restart are released by their rule.
        let in_force: Vec<_> = parts
            .plane
            .guards()
            .into_iter()
            .filter_map(|g| g.automatic)
            .filter(|d| matches!(d.source, DecisionSource::Rule { .. }))
            .collect();
        engine.adopt(&in_force);
        manager.listen(engine);
    }
    manager.apply(&set.rules).await;
    manager
}
