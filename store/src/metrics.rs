//! The store's own metrics, registered in the process registry and served at `/metrics`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Counters and gauges of the store.
#[derive(Clone, Debug)]
pub struct StoreMetrics {
    /// fsync latency of the write-ahead log.
    pub wal_fsync_seconds: Histogram,
    /// Damaged log tails repaired at start-up.
    pub wal_corruptions: IntCounter,
    /// Samples made durable.
    pub samples_appended: IntCounter,
    /// Samples refused, by reason.
    pub samples_rejected: IntCounterVec,
    /// Series in the head.
    pub head_series: IntGauge,
    /// Estimated head memory.
    pub head_bytes: IntGauge,
    /// Series created.
    pub head_series_created: IntCounter,
    /// Series dropped by head truncation.
    pub head_series_removed: IntCounter,
    /// Blocks on disk.
    pub blocks: IntGauge,
    /// Bytes of blocks on disk.
    pub blocks_bytes: IntGauge,
    /// Blocks cut from the head.
    pub block_cuts: IntCounter,
    /// Compactions done.
    pub compactions: IntCounter,
    /// Blocks deleted by retention.
    pub retention_deletions: IntCounter,
}

impl StoreMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            wal_fsync_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "taishan_wal_fsync_duration_seconds",
                    "Time to fsync the write-ahead log.",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                ]),
            )?,
            wal_corruptions: IntCounter::new(
                "taishan_wal_corruptions_total",
                "Damaged write-ahead log tails found and truncated at start-up.",
            )?,
            samples_appended: IntCounter::new(
                "taishan_tsdb_samples_appended_total",
                "Samples written to the log and the head.",
            )?,
            samples_rejected: IntCounterVec::new(
                Opts::new(
                    "taishan_tsdb_samples_rejected_total",
                    "Samples refused by storage, by reason.",
                ),
                &["reason"],
            )?,
            head_series: IntGauge::new("taishan_head_series", "Active series in the head.")?,
            head_bytes: IntGauge::new(
                "taishan_head_memory_bytes",
                "Estimated memory held by the head.",
            )?,
            head_series_created: IntCounter::new(
                "taishan_head_series_created_total",
                "Series created in the head.",
            )?,
            head_series_removed: IntCounter::new(
                "taishan_head_series_removed_total",
                "Series dropped from the head after their data was persisted.",
            )?,
            blocks: IntGauge::new("taishan_blocks", "Persisted blocks.")?,
            blocks_bytes: IntGauge::new("taishan_blocks_bytes", "Bytes of persisted blocks.")?,
            block_cuts: IntCounter::new("taishan_block_cuts_total", "Blocks cut from the head.")?,
            compactions: IntCounter::new(
                "taishan_compactions_total",
                "Block compactions completed.",
            )?,
            retention_deletions: IntCounter::new(
                "taishan_retention_deleted_blocks_total",
                "Blocks deleted by time or size retention.",
            )?,
        };
        registry.register(Box::new(m.wal_fsync_seconds.clone()))?;
        registry.register(Box::new(m.wal_corruptions.clone()))?;
        registry.register(Box::new(m.samples_appended.clone()))?;
        registry.register(Box::new(m.samples_rejected.clone()))?;
        registry.register(Box::new(m.head_series.clone()))?;
        registry.register(Box::new(m.head_bytes.clone()))?;
        registry.register(Box::new(m.head_series_created.clone()))?;
        registry.register(Box::new(m.head_series_removed.clone()))?;
        registry.register(Box::new(m.blocks.clone()))?;
        registry.register(Box::new(m.blocks_bytes.clone()))?;
        registry.register(Box::new(m.block_cuts.clone()))?;
        registry.register(Box::new(m.compactions.clone()))?;
        registry.register(Box::new(m.retention_deletions.clone()))?;
        Ok(m)
    }

    /// Metrics registered nowhere (tests, benchmarks).
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("fresh registry has no duplicates")
    }
}
