//! Opening the stores of `taishan up`: the metric TSDB, the trace and log stores, and the
//! span-derived signals, each opened off the async workers (they replay from disk).

use std::path::Path;
use std::sync::Arc;

use crate::up::config::Config;
use anyhow::Context;
use taishan_core::{Bus, Clock, InProcessBus};
use taishan_store::append_gate::{AppendGate, DEFAULT_IN_FLIGHT};
use taishan_store::logs::LogSink;
use taishan_store::traces::signals::SpanSignals;
use taishan_store::traces::TraceSink;
use taishan_store::{
    LogStore, LogStoreOptions, StoreMetrics, TraceStore, TraceStoreOptions, Tsdb, TsdbOptions,
};

/// The stores, open.
pub struct Stores {
    /// Metrics.
    pub db: Arc<Tsdb>,
    /// Where metric batches are published (to `db`).
    pub bus: Arc<dyn Bus>,
    /// Spans.
    pub traces: Arc<TraceStore>,
    /// Log records.
    pub logs: Arc<LogStore>,
    /// RED and service-graph series derived from spans.
    pub signals: Arc<SpanSignals>,
}

impl Stores {
    /// Opens every store under `data_dir`.
    pub async fn open(
        config: &Config,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        metrics: StoreMetrics,
    ) -> anyhow::Result<Self> {
        let options = TsdbOptions {
            dir: data_dir.to_path_buf(),
            config: config.storage.clone(),
            queue_capacity: config.ingest.queue_capacity,
            retry_after: config.ingest.retry_after,
            clock,
            metrics,
        };
        let db = tokio::task::spawn_blocking(move || Tsdb::open(options))
            .await
            .context("opening storage")?
            .with_context(|| format!("opening storage in {}", data_dir.display()))?;
        if let Some(c) = &db.open_report().wal_corruption {
            tracing::warn!(segment = c.segment, offset = c.offset, reason = %c.reason, "the write-ahead log was repaired at start-up");
        }
        let db = Arc::new(db);
        let traces = open_blocking("the trace store", {
            let options = TraceStoreOptions {
                dir: data_dir.join("traces"),
                retention: config.traces.retention,
                retention_bytes: config.traces.retention_size.bytes(),
                segment_bytes: config.traces.segment_size.bytes(),
            };
            move || TraceStore::open(options)
        })
        .await?;
        let logs = open_blocking("the log store", {
            let options = LogStoreOptions {
                dir: data_dir.join("logs"),
                retention: config.logs.retention,
                retention_bytes: config.logs.retention_size.bytes(),
                segment_bytes: config.logs.segment_size.bytes(),
            };
            move || LogStore::open(options)
        })
        .await?;
        let pair_wait = i64::try_from(config.traces.pair_wait.as_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            bus: Arc::new(InProcessBus::new(db.clone())),
            db,
            traces: Arc::new(traces),
            logs: Arc::new(logs),
            signals: Arc::new(SpanSignals::new(pair_wait)),
        })
    }

    /// The sinks the receivers write spans and logs to: each admits a bounded number of
    /// appends in flight, beyond which exports get 429 / `RESOURCE_EXHAUSTED`.
    pub fn sinks(&self, config: &Config, clock: Arc<dyn Clock>) -> (Arc<TraceSink>, Arc<LogSink>) {
        let gate = || AppendGate::new(DEFAULT_IN_FLIGHT, config.ingest.retry_after);
        let spans = TraceSink::new(self.traces.clone())
            .with_signals(self.signals.clone(), clock)
            .with_gate(gate());
        let logs = LogSink::new(self.logs.clone()).with_gate(gate());
        (Arc::new(spans), Arc::new(logs))
    }
}

/// Runs a store's `open` (it replays from disk) off the async workers.
async fn open_blocking<T, E>(
    what: &'static str,
    open: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> anyhow::Result<T>
where
    T: Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::task::spawn_blocking(open)
        .await
        .with_context(|| format!("opening {what}"))?
        .with_context(|| format!("opening {what}"))
}
