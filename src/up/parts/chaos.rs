//! Chaos as a part: its API (faults, drills, reports, books), the drills it runs on its
//! schedule, and the fault proxies between services.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use taishan_chaos::api::{self, BooksSlot, DrillDesk, DrillHistory, HttpPlatform};
use taishan_chaos::{ChaosConfig, FaultSet};
use taishan_edge::ListenerKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// The chaos API and the drills and proxies it runs.
pub struct ChaosPart {
    faults: FaultSet,
    books: BooksSlot,
    history: Arc<DrillHistory>,
    desk: Arc<DrillDesk>,
    config: ChaosConfig,
}

impl ChaosPart {
    /// Over the platform's fault set; reports kept in the data directory.
    pub fn open(platform: &Platform) -> anyhow::Result<Self> {
        let data_dir = platform.data_dir();
        let history = DrillHistory::open(data_dir, platform.clock.clone())
            .with_context(|| format!("opening the drill history in {}", data_dir.display()))?;
        let config = platform.config.chaos.clone();
        let desk = DrillDesk::new(&config.drills_dir, history.clone(), platform.clock.clone());
        let own = HttpPlatform::new(
            &platform.url_of(platform.addresses.api),
            platform.own_client()?,
        )
        .with_authorization(Some(platform.own_authorization()));
        desk.set_api(own);
        Ok(Self {
            faults: platform.faults.clone(),
            books: BooksSlot::default(),
            history,
            desk,
            config,
        })
    }

    /// Where the demo's books go once it runs (the money proofs of drills read them).
    pub fn books(&self) -> BooksSlot {
        self.books.clone()
    }
}

#[async_trait]
impl Part for ChaosPart {
    fn name(&self) -> &'static str {
        "chaos"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        let routes = api::faults::routes(self.faults.clone())
            .merge(api::books::routes(self.books.clone()))
            .merge(api::history::routes(self.history.clone()))
            .merge(api::drills::routes(self.desk.clone()));
        vec![Endpoint::Http(ListenerKind::Api, routes)]
    }

    async fn start(&mut self, cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let schedule = self.config.schedule.clone();
        let mut tasks = vec![tokio::spawn(
            self.desk.clone().run_schedule(schedule, cancel.clone()),
        )];
        for p in &self.config.proxies {
            let proxy = taishan_chaos::FaultProxy::bind(
                &p.name,
                p.listen,
                p.upstream.clone(),
                self.faults.clone(),
            )
            .await?;
            println!(
                "  fault proxy {:<12} {} → {} (network faults: scope service {})",
                p.name, p.listen, p.upstream, p.name
            );
            tasks.push(tokio::spawn(proxy.run(cancel.clone().cancelled_owned())));
        }
        Ok(tasks)
    }
}
