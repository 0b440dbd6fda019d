//! The pages as a part: the dashboards (built in, and the user's from `--dashboards`, read
//! again when a file changes), the views, and their live data.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use taishan_dashboards::{Catalog, LiveHub, UiState};
use taishan_edge::ListenerKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// The web UI on the API address.
pub struct DashboardsPart {
    catalog: Arc<Catalog>,
    ui: Option<UiState>,
}

impl DashboardsPart {
    /// The catalog and the pages over the platform's store; forms carry the edge's token.
    pub fn new(platform: &Platform) -> anyhow::Result<Self> {
        let catalog = Arc::new(Catalog::load(platform.args.dashboards.as_deref()));
        let live = LiveHub::new(
            platform.engine(),
            platform.gate.clone(),
            catalog.clone(),
            platform.clock.clone(),
        );
        let open_to_anyone = platform.args.insecure_listen && !platform.edge.authority().required();
        let warning = open_to_anyone.then(|| {
            "Served without credentials (--insecure-listen): anyone who reaches this address may open breakers, arm faults and silence alerts.".to_string()
        });
        let ui = UiState::new(catalog.clone(), live, platform.edge.csrf())
            .context("compiling the UI's page templates")?
            .with_warning(warning);
        Ok(Self {
            catalog,
            ui: Some(ui),
        })
    }
}

#[async_trait]
impl Part for DashboardsPart {
    fn name(&self) -> &'static str {
        "dashboards"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        self.ui
            .take()
            .map(|ui| Endpoint::Http(ListenerKind::Api, taishan_dashboards::ui_routes(ui)))
            .into_iter()
            .collect()
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        Ok(vec![tokio::spawn(
            self.catalog.clone().watch(cancel.clone()),
        )])
    }
}
