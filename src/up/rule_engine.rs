//! The rule engine inside `taishan up`: the configured rule and action files (and the
//! demo's), their groups evaluated against the store, their actions deciding through the
//! guard control plane, and a reload that swaps them for what the files say now.

use std::path::Path;
use std::sync::Arc;

use crate::up::config::Config;
use taishan_core::{Bus, Clock, DecisionSink, DecisionSource, GuardCommand, GuardDecision};
use taishan_guard_control::ControlPlane;
use taishan_query::Engine;
use taishan_rules::{
    ActionEngine, BusWriter, EvaluationListener, ManagerOptions, NamedText, RuleManager,
    RuleMetrics, RuleSet,
};
use taishan_store::Tsdb;

/// Reads every configured rule and action file, plus the demo's when `with_demo`; every
/// problem of every file, or the set.
pub fn load_rule_set(config: &Config, with_demo: bool) -> Result<RuleSet, Vec<String>> {
    let mut texts: Vec<NamedText> = if with_demo {
        taishan_rules::demo::demo_files()
    } else {
        Vec::new()
    };
    let mut problems = Vec::new();
    for pattern in &config.rules.files {
        let pattern = pattern.display().to_string();
        let matched = taishan_template::paths::glob(Path::new("."), &pattern);
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
    match RuleSet::parse(&texts) {
        Ok(set) if problems.is_empty() => Ok(set),
        Ok(_) => Err(problems),
        Err(errors) => {
            problems.extend(errors.iter().map(|e| e.to_string()));
            Err(problems)
        }
    }
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
    /// Told of every evaluation besides the actions (the alerter's forwarder).
    pub listeners: Vec<Arc<dyn EvaluationListener>>,
}

/// The running rule engine.
pub struct RuleEngine {
    /// The groups and their evaluation.
    pub manager: Arc<RuleManager>,
    plane: Arc<ControlPlane>,
    clock: Arc<dyn Clock>,
    listeners: Vec<Arc<dyn EvaluationListener>>,
}

impl RuleEngine {
    /// Starts evaluating `set`; its actions decide through the control plane.
    pub async fn start(parts: RuleEngineParts<'_>, set: &RuleSet) -> Self {
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
            parts.clock.clone(),
            options,
            parts.metrics,
        );
        let engine = Self {
            manager,
            plane: parts.plane,
            clock: parts.clock,
            listeners: parts.listeners,
        };
        engine.set_actions(set);
        engine.manager.apply(&set.rules).await;
        engine
    }

    /// Puts `set`'s actions in charge: rule decisions still in force are taken over by the
    /// action that made them, and released when no action could have (it was removed).
    fn set_actions(&self, set: &RuleSet) {
        let actions: Vec<_> = set.actions.iter().flat_map(|f| f.actions.clone()).collect();
        let engine = Arc::new(ActionEngine::new(actions, self.plane.clone()));
        let in_force: Vec<GuardDecision> = self
            .plane
            .guards()
            .into_iter()
            .filter_map(|g| g.automatic)
            .filter(|d| matches!(d.source, DecisionSource::Rule { .. }))
            .collect();
        for orphan in engine.adopt(&in_force) {
            tracing::warn!(guard = %orphan.target, "releasing a guard whose rule action no longer exists");
            let released = self.plane.decide(GuardDecision {
                command: GuardCommand::Release { probe: true },
                reason: format!(
                    "the action that decided {} is no longer in the rule files",
                    orphan.command
                ),
                at_ms: self.clock.now_ms(),
                ..orphan
            });
            if let Err(e) = released {
                // Still in force in the plane; an operator can release it (taishan guards).
                tracing::error!(error = %e, "could not release a guard whose action is gone");
            }
        }
        let mut listeners: Vec<Arc<dyn EvaluationListener>> = vec![engine];
        listeners.extend(self.listeners.iter().cloned());
        self.manager.replace_listeners(listeners);
    }

    /// Re-reads the rule and action files; on any problem nothing changes and the problems
    /// are returned. Groups keep their alerts' state across the reload.
    pub async fn reload(&self, config: &Config, with_demo: bool) -> Result<String, Vec<String>> {
        let (c, demo) = (config.clone(), with_demo);
        let set = tokio::task::spawn_blocking(move || load_rule_set(&c, demo))
            .await
            .map_err(|e| vec![format!("reading the rule files failed: {e}")])??;
        self.set_actions(&set);
        self.manager.apply(&set.rules).await;
        let summary = format!(
            "{} rule(s) in {} group(s), {} action(s)",
            set.rule_count(),
            set.rules.iter().map(|f| f.groups.len()).sum::<usize>(),
            set.action_count()
        );
        tracing::info!(%summary, "rules reloaded");
        Ok(summary)
    }
}

/// `POST /-/reload` (as Prometheus's): re-reads the rule and action files; 200 with what
/// was loaded, or 400 with every problem while the rules in force stay.
pub fn reload_routes(engine: Arc<RuleEngine>, config: Config, with_demo: bool) -> axum::Router {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let config = Arc::new(config);
    axum::Router::new().route(
        "/-/reload",
        axum::routing::post(move || {
            let (engine, config) = (engine.clone(), config.clone());
            async move {
                match engine.reload(&config, with_demo).await {
                    Ok(summary) => {
                        (StatusCode::OK, format!("reloaded: {summary}\n")).into_response()
                    }
                    Err(problems) => (
                        StatusCode::BAD_REQUEST,
                        axum::Json(serde_json::json!({
                            "status": "error",
                            "errorType": "bad_data",
                            "error": format!(
                                "the rules in force stay; {} problem(s): {}",
                                problems.len(),
                                problems.join("; ")
                            ),
                        })),
                    )
                        .into_response(),
                }
            }
        }),
    )
}

/// Reloads the rules on SIGHUP until `cancel`, logging what came of it.
pub fn reload_on_sighup(
    engine: Arc<RuleEngine>,
    config: Config,
    with_demo: bool,
    cancel: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::up::sighup::on_each_sighup(cancel, move || {
        let (engine, config) = (engine.clone(), config.clone());
        async move {
            if let Err(problems) = engine.reload(&config, with_demo).await {
                for p in &problems {
                    tracing::error!(problem = %p, "rule reload refused; the rules in force stay");
                }
            }
        }
    }))
}
