//! The stores as a part: the admin API (flush, compact), the series derived from spans
//! written at every interval, and storage upkeep (block cuts, compaction, retention).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use taishan_core::{run_every, Bus, Clock, Ticker};
use taishan_edge::ListenerKind;
use taishan_store::traces::signals::SpanSignals;
use taishan_store::{LogStore, TraceStore, Tsdb};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::up::admin;
use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// How often storage upkeep (block cuts, compaction, retention) runs.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// The metric, trace and log stores' upkeep and admin API.
pub struct StoragePart {
    db: Arc<Tsdb>,
    traces: Arc<TraceStore>,
    logs: Arc<LogStore>,
    signals: Arc<SpanSignals>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    signals_every: Duration,
}

impl StoragePart {
    /// Over the platform's stores.
    pub fn new(platform: &Platform) -> Self {
        let s = &platform.stores;
        Self {
            db: s.db.clone(),
            traces: s.traces.clone(),
            logs: s.logs.clone(),
            signals: s.signals.clone(),
            bus: s.bus.clone(),
            clock: platform.clock.clone(),
            signals_every: platform.config.traces.signals_interval,
        }
    }
}

#[async_trait]
impl Part for StoragePart {
    fn name(&self) -> &'static str {
        "storage"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        vec![Endpoint::Http(
            ListenerKind::Api,
            admin::routes(self.db.clone()),
        )]
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let signals = tokio::spawn(write_signals(
            Ticker::new(self.signals_every, cancel.clone()),
            self.signals.clone(),
            self.bus.clone(),
            self.clock.clone(),
        ));
        let (db, traces, logs) = (self.db.clone(), self.traces.clone(), self.logs.clone());
        let clock = self.clock.clone();
        let every = Ticker::new(MAINTENANCE_EVERY, cancel.clone());
        let upkeep = tokio::spawn(run_every(every, move || {
            upkeep(db.clone(), traces.clone(), logs.clone(), clock.now_ms())
        }));
        Ok(vec![signals, upkeep])
    }
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
