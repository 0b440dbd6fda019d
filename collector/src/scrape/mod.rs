//! Prometheus-style scraping of static targets.
//!
//! Each target runs its own loop: fetch, parse, label (`job`, `instance`, the job's extra
//! labels; clashing exposed labels become `exported_<name>`), add `up`,
//! `scrape_duration_seconds` and `scrape_samples_scraped`, write staleness markers for series
//! that vanished since the previous scrape, and publish the whole scrape as one batch.

pub mod exposition;
mod target_loop;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ScrapeConfig;
use taishan_core::{Bus, Clock, MetadataRegistry, TenantError, TenantId};
use tokio_util::sync::CancellationToken;

use crate::metrics::IngestMetrics;

/// One endpoint to scrape.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    /// The `job` label.
    pub job: String,
    /// The `instance` label (`host:port`).
    pub instance: String,
    /// Full URL of the exposition.
    pub url: String,
    /// Time between scrapes.
    pub interval: Duration,
    /// Time a scrape may take.
    pub timeout: Duration,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Owner of the samples.
    pub tenant: TenantId,
    /// The `Authorization` header scrapes send (Taishan scraping itself behind its own
    /// credentials); never shown.
    pub authorization: Option<taishan_core::Secret>,
    /// A client of its own instead of the manager's (Taishan scraping itself over TLS,
    /// trusting exactly its own certificate).
    pub client: Option<reqwest::Client>,
}

impl ScrapeTarget {
    /// The targets a validated scrape config describes.
    pub fn from_config(config: &ScrapeConfig) -> Result<Vec<ScrapeTarget>, TenantError> {
        let mut out = Vec::new();
        for job in &config.jobs {
            let tenant = TenantId::new(&job.tenant)?;
            for t in &job.targets {
                out.push(ScrapeTarget {
                    job: job.job_name.clone(),
                    instance: t.clone(),
                    url: format!("http://{t}{}", job.metrics_path),
                    interval: job.interval(config),
                    timeout: job.timeout(config),
                    labels: job.labels.clone(),
                    tenant: tenant.clone(),
                    authorization: None,
                    client: None,
                });
            }
        }
        Ok(out)
    }
}

/// The ingest path label of scraped samples.
pub const PATH: crate::IngestPath = crate::IngestPath::new("scrape");

/// Runs the scrape loops.
pub struct ScrapeManager {
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    metrics: IngestMetrics,
    max_body_bytes: usize,
    client: reqwest::Client,
    metadata: MetadataRegistry,
}

impl ScrapeManager {
    /// A manager publishing to `bus` and recording exposed metadata in `metadata`.
    pub fn new(
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        metrics: IngestMetrics,
        max_body_bytes: usize,
        metadata: MetadataRegistry,
    ) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("taishan/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            bus,
            clock,
            metrics,
            max_body_bytes,
            client,
            metadata,
        }
    }

    /// Spawns one loop per target; they stop when `cancel` fires.
    pub fn start(
        &self,
        targets: Vec<ScrapeTarget>,
        cancel: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        targets
            .into_iter()
            .map(|target| {
                let ctx = target_loop::LoopContext {
                    bus: self.bus.clone(),
                    clock: self.clock.clone(),
                    metrics: self.metrics.clone(),
                    max_body_bytes: self.max_body_bytes,
                    client: target.client.clone().unwrap_or_else(|| self.client.clone()),
                    metadata: self.metadata.clone(),
                };
                let cancel = cancel.clone();
                tracing::info!(job = %target.job, url = %target.url, interval = ?target.interval, "scraping target");
                tokio::spawn(target_loop::run(ctx, target, cancel))
            })
            .collect()
    }
}
