//! The rule engine as a part: the rules and alerts API, `POST /-/reload`, reloads on
//! SIGHUP, and evaluation stopped before the listeners close.

use std::sync::Arc;

use async_trait::async_trait;
use taishan_alerter::AlertAnnotator;
use taishan_edge::ListenerKind;
use taishan_rules::{rules_routes, RuleManager};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::up::alert_forwarder::AlertForwarder;
use crate::up::config::Config;
use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;
use crate::up::rule_engine::{self, RuleEngine, RuleEngineParts};

/// The rule engine, evaluating; its alerts go to the alerter.
pub struct RulesPart {
    engine: Arc<RuleEngine>,
    config: Config,
    with_demo_rules: bool,
}

impl RulesPart {
    /// Reads the rule files (the demo's too when it runs and `rules.demo_rules`) and starts
    /// evaluating; firing alerts go to `alerter`, annotated by `annotator`.
    pub async fn start(
        platform: &Platform,
        alerter: Arc<taishan_alerter::Alerter>,
        annotator: Arc<dyn AlertAnnotator>,
    ) -> anyhow::Result<Self> {
        let config = &platform.config;
        let with_demo_rules = platform.demo_on && config.rules.demo_rules;
        let rule_set = rule_engine::load_rule_set(config, with_demo_rules).map_err(|problems| {
            for p in &problems {
                eprintln!("{p}");
            }
            anyhow::anyhow!("{} problem(s) in the rule files", problems.len())
        })?;
        let ui_url = platform.ui_url();
        let external_url = config.rules.external_url.clone();
        let forwarder =
            AlertForwarder::new(alerter, external_url.unwrap_or_else(|| ui_url.clone()))
                .with_annotator(annotator);
        let engine = RuleEngine::start(
            RuleEngineParts {
                config,
                db: platform.stores.db.clone(),
                bus: platform.stores.bus.clone(),
                clock: platform.clock.clone(),
                metrics: platform.metrics.rules.clone(),
                ui_url,
                plane: platform.plane.clone(),
                listeners: vec![Arc::new(forwarder)],
            },
            &rule_set,
        )
        .await;
        Ok(Self {
            engine: Arc::new(engine),
            config: config.clone(),
            with_demo_rules,
        })
    }

    /// The groups and their evaluation (root cause reads the rules of an alert).
    pub fn manager(&self) -> Arc<RuleManager> {
        self.engine.manager.clone()
    }
}

#[async_trait]
impl Part for RulesPart {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        let reload = rule_engine::reload_routes(
            self.engine.clone(),
            self.config.clone(),
            self.with_demo_rules,
        );
        vec![Endpoint::Http(
            ListenerKind::Api,
            rules_routes(self.manager()).merge(reload),
        )]
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        Ok(vec![rule_engine::reload_on_sighup(
            self.engine.clone(),
            self.config.clone(),
            self.with_demo_rules,
            cancel.clone(),
        )])
    }

    async fn stop(&mut self) {
        self.engine.manager.stop();
    }
}
