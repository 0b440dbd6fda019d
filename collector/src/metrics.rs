//! Ingest's own metrics.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

use crate::receivers::otlp::delta::DeltaTotals;

/// Counters of what came in and what was refused.
#[derive(Clone, Debug)]
pub struct IngestMetrics {
    /// Samples stored, by ingest path.
    pub samples_ingested: IntCounterVec,
    /// Requests refused, by path and reason.
    pub requests_refused: IntCounterVec,
    /// Scrape durations, by job.
    pub scrape_duration: HistogramVec,
    /// Request handling time of the write endpoints.
    pub write_duration: Histogram,
    /// Spans made durable.
    pub spans_ingested: IntCounter,
    /// Log records made durable, by ingest path.
    pub logs_ingested: IntCounterVec,
    /// OTLP delta series whose running totals are kept.
    pub delta_series: IntGauge,
    /// OTLP delta series forgotten after going idle.
    pub delta_series_evicted: IntCounter,
}

impl IngestMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            samples_ingested: IntCounterVec::new(
                Opts::new(
                    "taishan_samples_ingested_total",
                    "Samples made durable, by ingest path.",
                ),
                &["path"],
            )?,
            requests_refused: IntCounterVec::new(
                Opts::new(
                    "taishan_ingest_requests_refused_total",
                    "Write requests refused, by path and reason.",
                ),
                &["path", "reason"],
            )?,
            scrape_duration: HistogramVec::new(
                HistogramOpts::new(
                    "taishan_scrape_duration_seconds",
                    "Time to scrape a target, by job.",
                ),
                &["job"],
            )?,
            write_duration: Histogram::with_opts(HistogramOpts::new(
                "taishan_write_request_duration_seconds",
                "Time to handle a write request, durable acknowledgement included.",
            ))?,
            spans_ingested: IntCounter::new(
                "taishan_spans_ingested_total",
                "Spans made durable (OTLP traces).",
            )?,
            logs_ingested: IntCounterVec::new(
                Opts::new(
                    "taishan_log_records_ingested_total",
                    "Log records made durable, by ingest path (otlp, json_logs, loki).",
                ),
                &["path"],
            )?,
            delta_series: IntGauge::new(
                "taishan_otlp_delta_series",
                "OTLP delta-temporality series whose running totals are kept.",
            )?,
            delta_series_evicted: IntCounter::new(
                "taishan_otlp_delta_series_evicted_total",
                "OTLP delta-temporality series forgotten after going idle for the TTL.",
            )?,
        };
        registry.register(Box::new(m.samples_ingested.clone()))?;
        registry.register(Box::new(m.delta_series.clone()))?;
        registry.register(Box::new(m.delta_series_evicted.clone()))?;
        registry.register(Box::new(m.requests_refused.clone()))?;
        registry.register(Box::new(m.scrape_duration.clone()))?;
        registry.register(Box::new(m.write_duration.clone()))?;
        registry.register(Box::new(m.spans_ingested.clone()))?;
        registry.register(Box::new(m.logs_ingested.clone()))?;
        Ok(m)
    }

    /// Brings the delta-table metrics up to date with `deltas`.
    pub fn observe_deltas(&self, deltas: &DeltaTotals) {
        let (kept, evicted) = deltas.counts();
        self.delta_series
            .set(i64::try_from(kept).unwrap_or(i64::MAX));
        let counted = self.delta_series_evicted.get();
        if evicted > counted {
            self.delta_series_evicted.inc_by(evicted - counted);
        }
    }

    /// Metrics registered nowhere (tests).
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("fresh registry has no duplicates")
    }
}
