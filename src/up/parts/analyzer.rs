//! The analyzer as a part: its watches scored at each interval (state saved as it stops),
//! root causes ranked for firing alerts and annotated on them, and its API.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use taishan_analyzer::live::{LiveAnalyzer, RootCauseNotes, RootCauseWorker};
use taishan_core::{Bus, Clock};
use taishan_edge::ListenerKind;
use taishan_query::Engine;
use taishan_rules::RuleManager;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use taishan_query::QueryGate;

use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// The analyzer before it knows the rules whose alerts it explains: the rule engine is
/// built with its annotator first.
pub struct AnalyzerSetup {
    live: LiveAnalyzer,
    notes: Arc<RootCauseNotes>,
    worker: RootCauseWorker,
    engine: Engine,
    gate: QueryGate,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    interval: Duration,
}

impl AnalyzerSetup {
    /// The watches of `analyzer:` (and the demo's with the demo), resumed from the data
    /// directory.
    pub fn open(platform: &Platform) -> anyhow::Result<Self> {
        let live = LiveAnalyzer::open(
            &platform.config.analyzer,
            platform.demo_on,
            platform.data_dir(),
            &platform.metrics.registry,
        )?;
        let (notes, worker) = RootCauseNotes::new(platform.engine(), platform.clock.clone());
        Ok(Self {
            live,
            notes,
            worker,
            engine: platform.engine(),
            gate: platform.gate.clone(),
            bus: platform.stores.bus.clone(),
            clock: platform.clock.clone(),
            interval: platform.config.analyzer.interval,
        })
    }

    /// What annotates firing alerts with their root causes.
    pub fn annotator(&self) -> Arc<RootCauseNotes> {
        self.notes.clone()
    }

    /// The part, explaining the alerts of `rules`.
    pub fn explaining(self, rules: Arc<RuleManager>) -> AnalyzerPart {
        AnalyzerPart {
            live: self.live,
            worker: Some(self.worker),
            rules,
            engine: self.engine,
            gate: self.gate,
            bus: self.bus,
            clock: self.clock,
            interval: self.interval,
        }
    }
}

/// The live analyzer and the root-cause worker.
pub struct AnalyzerPart {
    live: LiveAnalyzer,
    /// Spawned by `start`.
    worker: Option<RootCauseWorker>,
    rules: Arc<RuleManager>,
    engine: Engine,
    gate: QueryGate,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    interval: Duration,
}

#[async_trait]
impl Part for AnalyzerPart {
    fn name(&self) -> &'static str {
        "analyzer"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        let routes = taishan_analyzer::live::routes(
            &self.live,
            self.engine.clone(),
            self.gate.clone(),
            self.rules.clone(),
            self.clock.clone(),
        );
        vec![Endpoint::Http(ListenerKind::Api, routes)]
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        // The analyzer saves its detectors' state as it stops.
        let mut tasks = vec![self.live.spawn(
            self.interval,
            self.engine.clone(),
            self.bus.clone(),
            self.clock.clone(),
            cancel,
        )];
        if let Some(worker) = self.worker.take() {
            tasks.push(worker.spawn(cancel, self.rules.clone()));
        }
        Ok(tasks)
    }
}
