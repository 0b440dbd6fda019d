//! The analyzer inside a running Taishan: every watch scored at each interval off the async
//! workers, the verdicts written as `taishan_anomaly_*` series, the detectors' state saved
//! under the data directory (every five minutes and at shutdown), and its API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{AnalyzerConfig, WatchConfig};
use crate::{Watch, Watcher, WatcherState};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};
use serde_json::json;
use taishan_core::{Bus, Clock, MetricBatch, TenantId, Ticker};
use taishan_query::{Engine, QueryValue};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Ticks between two saves of the detectors' state (5 minutes at the default 15 s).
const SAVE_EVERY_TICKS: u64 = 20;

/// The demo's watches: the business view's payment success rate and loans granted, and
/// the system view's RED series per service (the root-cause ranking reads these too);
/// loans granted and each service's requests with their forecast an hour ahead (capacity).
pub fn demo_watches() -> Vec<WatchConfig> {
    let watch = |name: &str, query: &str| WatchConfig {
        name: name.into(),
        query: query.into(),
        detector: None,
        forecast: None,
    };
    let with_forecast = |mut w: WatchConfig| {
        w.forecast = Some(Duration::from_secs(3600));
        w
    };
    vec![
        watch(
            "payment_success_rate",
            r#"sum by (channel) (rate(payment_results_total{status="succeeded"}[2m])) / sum by (channel) (rate(payment_results_total{status=~"succeeded|failed"}[2m]))"#,
        ),
        with_forecast(watch("loans_granted", "sum(rate(loan_granted_total[5m]))")),
        watch("service_p99_latency", "service:latency_seconds:p99_1m"),
        // Zero, not absent, while a service has no errors: its detector learns the quiet
        // before the first error, not from it.
        watch(
            "service_error_ratio",
            "(service:errors:rate1m or service:requests:rate1m * 0) / service:requests:rate1m",
        ),
        with_forecast(watch("service_requests", "service:requests:rate1m")),
        // The share of credit decisions risk could not make (its model failing inside it,
        // where no span fails), named by the scrape job's service.
        watch(
            "risk_decision_errors",
            r#"label_replace((sum by (job) (rate(risk_decisions_total{verdict="error"}[1m])) or 0 * sum by (job) (rate(risk_decisions_total[1m]))) / sum by (job) (rate(risk_decisions_total[1m])), "service_name", "$1", "job", "(?:.*/)?(.+)")"#,
        ),
    ]
}

/// The analyzer's own metrics.
#[derive(Clone)]
struct AnalyzerMetrics {
    series: IntGauge,
    state_bytes: IntGauge,
    scored: IntCounter,
    refused: IntCounter,
    query_errors: IntCounter,
    tick_seconds: Histogram,
}

impl AnalyzerMetrics {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            series: IntGauge::new("taishan_analyzer_series", "Series the analyzer watches.")?,
            state_bytes: IntGauge::new(
                "taishan_analyzer_state_bytes",
                "Bytes of detector state over all watched series.",
            )?,
            scored: IntCounter::new(
                "taishan_analyzer_points_scored_total",
                "Points scored by the analyzer's detectors.",
            )?,
            refused: IntCounter::new(
                "taishan_analyzer_series_refused_total",
                "Series not watched because analyzer.max_series was reached (per tick).",
            )?,
            query_errors: IntCounter::new(
                "taishan_analyzer_query_errors_total",
                "Watch queries that failed.",
            )?,
            tick_seconds: Histogram::with_opts(HistogramOpts::new(
                "taishan_analyzer_tick_duration_seconds",
                "Time to query and score every watch once.",
            ))?,
        };
        registry.register(Box::new(m.series.clone()))?;
        registry.register(Box::new(m.state_bytes.clone()))?;
        registry.register(Box::new(m.scored.clone()))?;
        registry.register(Box::new(m.refused.clone()))?;
        registry.register(Box::new(m.query_errors.clone()))?;
        registry.register(Box::new(m.tick_seconds.clone()))?;
        Ok(m)
    }
}

/// Why the analyzer could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Its metrics clash with ones already registered.
    #[error("registering analyzer metrics: {0}")]
    Metrics(prometheus::Error),
    /// A watch does not build (a checked config cannot have one).
    #[error("analyzer watch {name}: {reason}")]
    Watch {
        /// The watch's name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// The running analyzer, shared with its API.
#[derive(Clone)]
pub struct LiveAnalyzer {
    watcher: Arc<Mutex<Watcher>>,
    state_path: PathBuf,
    metrics: AnalyzerMetrics,
}

impl LiveAnalyzer {
    /// The analyzer of `config` (plus the demo's watches when `with_demo`), its state
    /// resumed from `data_dir`, its metrics in `registry`.
    pub fn open(
        config: &AnalyzerConfig,
        with_demo: bool,
        data_dir: &Path,
        registry: &Registry,
    ) -> Result<Self, LiveError> {
        let metrics = AnalyzerMetrics::register(registry).map_err(LiveError::Metrics)?;
        let mut watches = Vec::new();
        let demo = if with_demo {
            demo_watches()
        } else {
            Vec::new()
        };
        for w in config.watch.iter().chain(&demo) {
            let watch = Watch::from_config(w).map_err(|reason| LiveError::Watch {
                name: w.name.clone(),
                reason,
            })?;
            if watches.iter().all(|o: &Watch| o.name != watch.name) {
                watches.push(watch);
            }
        }
        let mut watcher = Watcher::new(watches, config);
        let state_path = data_dir.join("analyzer").join("state.json");
        match WatcherState::load(&state_path) {
            Ok(Some(state)) => {
                let (resumed, set_aside) = watcher.restore(state);
                tracing::info!(resumed, set_aside, "analyzer state resumed");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "analyzer state not resumed; detectors start afresh")
            }
        }
        Ok(Self {
            watcher: Arc::new(Mutex::new(watcher)),
            state_path,
            metrics,
        })
    }

    /// Scores every watch at each tick until `cancel`, then saves the state.
    pub fn spawn(
        &self,
        interval: Duration,
        engine: Engine,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        cancel: &CancellationToken,
    ) -> JoinHandle<()> {
        let this = self.clone();
        let mut ticker = Ticker::new(interval, cancel.clone());
        tokio::spawn(async move {
            let mut ticks = 0u64;
            while ticker.tick().await {
                this.tick(&engine, &bus, clock.now_ms()).await;
                ticks += 1;
                if ticks % SAVE_EVERY_TICKS == 0 {
                    this.save(clock.now_ms()).await;
                }
            }
            this.save(clock.now_ms()).await;
        })
    }

    async fn tick(&self, engine: &Engine, bus: &Arc<dyn Bus>, now_ms: i64) {
        let m = &self.metrics;
        let (watcher, engine) = (self.watcher.clone(), engine.clone());
        let started = Instant::now();
        let scored = tokio::task::spawn_blocking(move || {
            let tenant = TenantId::default_tenant();
            let mut watcher = watcher.lock();
            let report = watcher.tick(now_ms, &mut |query| {
                let out = engine
                    .instant(&tenant, query, now_ms)
                    .map_err(|e| e.to_string())?;
                match out.value {
                    QueryValue::Vector(v) => Ok(v.into_iter().map(|(l, s)| (l, s.value)).collect()),
                    QueryValue::Scalar(s) => Ok(vec![(taishan_core::Labels::default(), s.value)]),
                    _ => Err("the query does not give an instant vector".into()),
                }
            });
            (report, watcher.series_count(), watcher.memory_bytes())
        })
        .await;
        let (report, series, bytes) = match scored {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "analyzer tick panicked");
                return;
            }
        };
        m.tick_seconds.observe(started.elapsed().as_secs_f64());
        m.series.set(series as i64);
        m.state_bytes.set(bytes as i64);
        m.scored.inc_by(report.scored as u64);
        m.refused.inc_by(report.refused as u64);
        m.query_errors.inc_by(report.failed.len() as u64);
        for (watch, error) in &report.failed {
            tracing::warn!(watch, error, "analyzer watch query failed");
        }
        if report.refused > 0 {
            tracing::warn!(
                refused = report.refused,
                "analyzer.max_series reached; new series are not watched"
            );
        }
        if report.samples.is_empty() {
            return;
        }
        let batch = MetricBatch::from_samples(TenantId::default_tenant(), report.samples);
        if let Err(e) = bus.publish(batch).await {
            tracing::warn!(error = %e, "anomaly scores not stored this tick");
        }
    }

    async fn save(&self, now_ms: i64) {
        let (watcher, path) = (self.watcher.clone(), self.state_path.clone());
        let saved = tokio::task::spawn_blocking(move || {
            let state = watcher.lock().snapshot(now_ms);
            state.save(&path).map(|()| state.len())
        })
        .await;
        match saved {
            Ok(Ok(series)) => tracing::debug!(series, "analyzer state saved"),
            Ok(Err(e)) => tracing::warn!(error = %e, "analyzer state not saved; will retry"),
            Err(e) => tracing::error!(error = %e, "saving the analyzer state panicked"),
        }
    }

    /// `GET /api/v1/analyzer/watches` and `GET /api/v1/analyzer/series?watch=`.
    pub fn routes(&self) -> Router {
        Router::new()
            .route("/api/v1/analyzer/watches", get(watches))
            .route("/api/v1/analyzer/series", get(series))
            .with_state(self.clone())
    }
}

async fn watches(State(a): State<LiveAnalyzer>) -> Json<serde_json::Value> {
    let watcher = a.watcher.lock();
    let status = watcher.status(None);
    let data: Vec<_> = watcher
        .watches()
        .iter()
        .map(|w| {
            let series = status.iter().filter(|s| s.watch == w.name).count();
            let loudest = status
                .iter()
                .filter(|s| s.watch == w.name)
                .map(|s| s.score)
                .fold(0.0, f64::max);
            json!({
                "name": w.name,
                "query": w.query,
                "detector": w.detector.name(),
                "series": series,
                "max_score": loudest,
            })
        })
        .collect();
    Json(json!({"status": "success", "data": data}))
}

#[derive(serde::Deserialize)]
struct SeriesParams {
    watch: Option<String>,
}

async fn series(
    State(a): State<LiveAnalyzer>,
    Query(p): Query<SeriesParams>,
) -> Json<serde_json::Value> {
    let mut status = a.watcher.lock().status(p.watch.as_deref());
    status.sort_by(|x, y| y.score.total_cmp(&x.score));
    Json(json!({"status": "success", "data": status}))
}
