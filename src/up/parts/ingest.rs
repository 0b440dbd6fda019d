//! The receivers as a part: what each serves on the API and OTLP listeners, and scraping
//! (the configured jobs, and Taishan itself unless `scrape.self_scrape` is off).

use std::net::SocketAddr;

use anyhow::Context;
use async_trait::async_trait;
use taishan_collector::receivers::{select, Summary};
use taishan_collector::{ingest_surface, IngestState, ScrapeManager, ScrapeTarget};
use taishan_core::TenantId;
use taishan_edge::ListenerKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::up::part::Endpoint;
use crate::up::platform::{reachable, Platform};

/// The receivers and the scrapes.
pub struct IngestPart {
    endpoints: Vec<Endpoint>,
    summaries: Vec<Summary>,
    scrapes: Option<(ScrapeManager, Vec<ScrapeTarget>)>,
}

impl IngestPart {
    /// The receivers `ingest.receivers` names (every one when unset), writing to the
    /// platform's stores; the scrape targets of `scrape:`.
    pub fn new(platform: &Platform) -> anyhow::Result<Self> {
        let config = &platform.config;
        let (spans, logs) = platform.stores.sinks(config, platform.clock.clone());
        let max_body = usize::try_from(config.ingest.max_body_size.bytes()).unwrap_or(usize::MAX);
        let state = IngestState::new(
            platform.stores.bus.clone(),
            spans,
            logs,
            max_body,
            platform.clock.clone(),
            platform.metrics.ingest.clone(),
        )
        .with_tenant_attribute(config.ingest.otlp_tenant_attribute.clone())
        .with_limits(config.ingest.limits.clone());
        let receivers = select(config.ingest.receivers.as_deref())?;
        let surface = ingest_surface(&state, &receivers);
        let scrapes = ScrapeManager::new(
            platform.stores.bus.clone(),
            platform.clock.clone(),
            platform.metrics.ingest.clone(),
            max_body,
            platform.metadata.clone(),
        );
        let targets = scrape_targets(platform, platform.addresses.api)?;
        Ok(Self {
            endpoints: vec![
                Endpoint::Http(ListenerKind::Api, surface.api),
                Endpoint::Http(ListenerKind::OtlpHttp, surface.otlp_http),
                Endpoint::OtlpGrpc(surface.otlp_grpc),
            ],
            summaries: surface.summaries,
            scrapes: Some((scrapes, targets)),
        })
    }

    /// What each receiver takes where, for the banner.
    pub fn summaries(&self) -> &[Summary] {
        &self.summaries
    }
}

#[async_trait]
impl crate::up::part::Part for IngestPart {
    fn name(&self) -> &'static str {
        "ingest"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        std::mem::take(&mut self.endpoints)
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        Ok(match self.scrapes.take() {
            Some((manager, targets)) => manager.start(targets, cancel.clone()),
            None => Vec::new(),
        })
    }
}

/// The configured scrape jobs, and Taishan itself unless `scrape.self_scrape` is off.
fn scrape_targets(platform: &Platform, api_addr: SocketAddr) -> anyhow::Result<Vec<ScrapeTarget>> {
    let config = &platform.config;
    let mut targets = ScrapeTarget::from_config(&config.scrape).context("scrape config")?;
    if config.scrape.self_scrape {
        targets.push(ScrapeTarget {
            job: "taishan".into(),
            instance: reachable(api_addr).to_string(),
            url: format!("{}/metrics", platform.url_of(api_addr)),
            client: Some(platform.own_client()?),
            interval: config.scrape.interval,
            timeout: config.scrape.timeout,
            labels: Default::default(),
            tenant: TenantId::default_tenant(),
            authorization: Some(platform.own_authorization()),
        });
    }
    Ok(targets)
}
