//! The background work of `taishan up`, each a named task that stops on the shared
//! cancellation token: scraping, span-derived series, storage upkeep, rule reloads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::up::config::Config;
use anyhow::Context;
use taishan_collector::{IngestMetrics, ScrapeManager, ScrapeTarget};
use taishan_core::{run_every, Bus, Clock, MetadataRegistry, TenantId, Ticker};
use taishan_store::traces::signals::SpanSignals;
use taishan_store::{LogStore, TraceStore, Tsdb};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::stores::Stores;
use crate::up::rule_engine::{self, RuleEngine};

/// How often storage upkeep (block cuts, compaction, retention) runs.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// What the loops need.
pub struct LoopParts<'a> {
    /// The config in force.
    pub config: &'a Config,
    /// The stores.
    pub stores: &'a Stores,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Scrape counters.
    pub ingest_metrics: IngestMetrics,
    /// Where scrapes record metric metadata.
    pub metadata: MetadataRegistry,
    /// The API's own address, to scrape itself.
    pub api_addr: SocketAddr,
    /// The rule engine, reloaded on SIGHUP.
    pub rules: Arc<RuleEngine>,
    /// Whether the demo's rules are loaded.
    pub with_demo_rules: bool,
}

/// Spawns every loop; they end once `cancel` fires.
pub fn spawn(p: LoopParts<'_>, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let targets = scrape_targets(p.config, p.api_addr)?;
    let max_body = usize::try_from(p.config.ingest.max_body_size.bytes()).unwrap_or(usize::MAX);
    let mut tasks = ScrapeManager::new(
        p.stores.bus.clone(),
        p.clock.clone(),
        p.ingest_metrics,
        max_body,
        p.metadata,
    )
    .start(targets, cancel.clone());
    let every = Ticker::new(p.config.traces.signals_interval, cancel.clone());
    tasks.push(tokio::spawn(write_signals(
        every,
        p.stores.signals.clone(),
        p.stores.bus.clone(),
        p.clock.clone(),
    )));
    tasks.push(rule_engine::reload_on_sighup(
        p.rules,
        p.config.clone(),
        p.with_demo_rules,
        cancel.clone(),
    ));
    let (db, traces, logs) = (
        p.stores.db.clone(),
        p.stores.traces.clone(),
        p.stores.logs.clone(),
    );
    let clock = p.clock;
    let every = Ticker::new(MAINTENANCE_EVERY, cancel.clone());
    tasks.push(tokio::spawn(run_every(every, move || {
        upkeep(db.clone(), traces.clone(), logs.clone(), clock.now_ms())
    })));
    Ok(tasks)
}

/// The configured scrape jobs, and Taishan itself unless `scrape.self_scrape` is off.
fn scrape_targets(config: &Config, api_addr: SocketAddr) -> anyhow::Result<Vec<ScrapeTarget>> {
    let mut targets = ScrapeTarget::from_config(&config.scrape).context("scrape config")?;
    if config.scrape.self_scrape {
        let own = if api_addr.ip().is_unspecified() {
            SocketAddr::new([127, 0, 0, 1].into(), api_addr.port())
        } else {
            api_addr
        };
        targets.push(ScrapeTarget {
            job: "taishan".into(),
            instance: own.to_string(),
            url: format!("http://{own}/metrics"),
            interval: config.scrape.interval,
            timeout: config.scrape.timeout,
            labels: Default::default(),
            tenant: TenantId::default_tenant(),
        });
    }
    Ok(targets)
}

/// Writes the series derived from spans (RED, service graph) at every tick.
async fn write_signals(
    every: Ticker,
    signals: Arc<SpanSignals>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
) {
    run_every(every, || async {
        for batch in signals.flush(clock.now_ms()) {
            let series = batch.series.len();
            let published = bus.publish(batch).await;
            tracing::debug!(series, ?published, "span-derived series written");
            if let Err(e) = published {
                tracing::warn!(error = %e, "span-derived series not stored; they will be written again next time");
            }
        }
    })
    .await
}

/// One round of storage upkeep: blocks cut, compacted and retired; old spans and logs gone.
async fn upkeep(db: Arc<Tsdb>, traces: Arc<TraceStore>, logs: Arc<LogStore>, now_ms: i64) {
    match tokio::task::spawn_blocking(move || db.maintain()).await {
        Ok(Ok(report)) if report != Default::default() => {
            tracing::info!(?report, "storage upkeep")
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "storage upkeep failed; will retry"),
        Err(e) => tracing::error!(error = %e, "storage upkeep panicked"),
    }
    let retention = tokio::task::spawn_blocking(move || {
        Ok::<_, taishan_store::StoreError>((
            traces.apply_retention(now_ms)?,
            logs.apply_retention(now_ms)?,
        ))
    });
    match retention.await {
        Ok(Ok((0, 0))) => {}
        Ok(Ok((t, l))) => tracing::info!(
            trace_segments = t,
            log_segments = l,
            "retention deleted old spans and logs"
        ),
        Ok(Err(e)) => tracing::error!(error = %e, "trace/log retention failed; will retry"),
        Err(e) => tracing::error!(error = %e, "trace/log retention panicked"),
    }
}
