//! The demo as parts: the financial services with their customers, exporting their
//! telemetry to this process's OTLP receiver and consulting its guards and faults
//! ([`DemoPart`]), and the demo on-call team's phones ([`DemoPagerPart`]).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use taishan_services::Demo;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::up::banner;
use crate::up::part::Part;
use crate::up::platform::Platform;

/// The demo services, started once the listeners serve; their books go to the chaos API.
pub struct DemoPart {
    start: Option<banner::DemoStart>,
    books: taishan_chaos::api::BooksSlot,
    demo: Option<Demo>,
}

impl DemoPart {
    /// The demo of the platform's config; its books fill `books` once it runs.
    pub fn new(platform: &Platform, books: taishan_chaos::api::BooksSlot) -> Self {
        Self {
            start: Some(banner::DemoStart::new(platform)),
            books,
            demo: None,
        }
    }
}

#[async_trait]
impl Part for DemoPart {
    fn name(&self) -> &'static str {
        "demo services"
    }

    async fn start(&mut self, _cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        if let Some(start) = self.start.take() {
            let demo = start.run().await.context("starting the demo")?;
            let _ = self.books.set(Arc::new(demo.books()));
            self.demo = Some(demo);
        }
        Ok(Vec::new())
    }

    /// The services flush their telemetry while the receivers still take it.
    async fn stop(&mut self) {
        if let Some(demo) = self.demo.take() {
            demo.stop().await;
        }
    }
}

/// The demo's on-call phones, listening.
pub struct DemoPagerPart {
    /// The phones.
    pub pager: Arc<taishan_services::pager::Pager>,
    /// Their base URL.
    pub url: String,
    listener: Option<tokio::net::TcpListener>,
}

impl DemoPagerPart {
    /// Binds the pager beside the demo services (`demo.base_port + 9`).
    pub async fn bind(platform: &Platform) -> anyhow::Result<Self> {
        let (config, clock) = (&platform.config, platform.clock.clone());
        let port = match config.demo.base_port {
            0 => 0,
            base => base + 9,
        };
        let addr = SocketAddr::new(config.demo.listen, port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the demo pager on {addr}"))?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok(Self {
            pager: taishan_services::pager::Pager::new(clock),
            url,
            listener: Some(listener),
        })
    }
}

#[async_trait]
impl Part for DemoPagerPart {
    fn name(&self) -> &'static str {
        "demo pager"
    }

    /// Serves `GET /pages` and the alerter's `POST /pages/{person}` until `cancel`: the
    /// demo's phones, a peer of Taishan's, not one of its listeners.
    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let Some(listener) = self.listener.take() else {
            return Ok(Vec::new());
        };
        println!(
            "  demo pager (on-call)     {}/pages (what the demo's on-call team was paged)",
            self.url
        );
        let app = taishan_services::pager::router(self.pager.clone());
        let stop = cancel.clone();
        Ok(vec![tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the demo pager stopped");
            }
        })])
    }
}
