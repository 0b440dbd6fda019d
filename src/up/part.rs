//! The contract of a part, as a composition runs it: `taishan up` is a list of parts (see
//! `super::serve`), and the cluster roles to come are other lists of the same parts.
//!
//! A part is built from the [`super::platform::Platform`] (the config, the clock, the
//! stores, the listeners' addresses, what parts share) with its own section of the config.
//! Then, in this order:
//! - [`Part::endpoints`]: what it serves on which listener. The composition merges every
//!   part's routes per listener and puts them behind that listener's layers (the edge) in
//!   one place; no part binds a listener of Taishan's own or layers its routes itself.
//! - [`Part::start`]: its background work, once every listener serves. Each task it returns
//!   ends after the shared cancellation fires; the composition waits for all of them.
//! - [`Part::stop`]: on shutdown, before cancellation and while the listeners still take
//!   requests, what must end first (the demo flushes its telemetry into the receivers, the
//!   rule engine stops evaluating). Parts stop in the reverse of their order in the list.

use async_trait::async_trait;
use axum::Router;
use taishan_edge::ListenerKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What a part serves, and where.
pub enum Endpoint {
    /// HTTP routes on one of Taishan's listeners.
    Http(ListenerKind, Router),
    /// gRPC services on the OTLP/gRPC listener.
    OtlpGrpc(tonic::service::Routes),
}

/// One part of a running Taishan; see the module's contract.
#[async_trait]
pub trait Part: Send {
    /// Its name, in logs and errors.
    fn name(&self) -> &'static str;

    /// What it serves on which listener (asked once, before any listener serves).
    fn endpoints(&mut self) -> Vec<Endpoint> {
        Vec::new()
    }

    /// Starts its background work; every task ends once `cancel` fires.
    async fn start(&mut self, _cancel: &CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>> {
        Ok(Vec::new())
    }

    /// Ends what must end before the listeners close.
    async fn stop(&mut self) {}
}

/// The parts of one composition, in the order they start.
#[derive(Default)]
pub struct Parts(Vec<Box<dyn Part>>);

impl Parts {
    /// Adds `part` after those already listed.
    pub fn push(&mut self, part: impl Part + 'static) {
        self.0.push(Box::new(part));
    }

    /// Every part's endpoints, in list order.
    pub fn endpoints(&mut self) -> Vec<Endpoint> {
        self.0.iter_mut().flat_map(|p| p.endpoints()).collect()
    }

    /// Starts every part in list order; their tasks.
    pub async fn start(
        &mut self,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let mut tasks = Vec::new();
        for part in &mut self.0 {
            let started = part.start(cancel).await;
            let name = part.name();
            tasks.extend(started.map_err(|e| e.context(format!("starting {name}")))?);
        }
        Ok(tasks)
    }

    /// Stops every part, the last started first.
    pub async fn stop(&mut self) {
        for part in self.0.iter_mut().rev() {
            tracing::debug!(part = part.name(), "stopping");
            part.stop().await;
        }
    }
}
