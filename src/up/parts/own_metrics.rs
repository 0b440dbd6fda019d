//! Taishan's own `/metrics`, every part's counters in one registry.

use axum::routing::get;
use axum::Router;
use taishan_edge::ListenerKind;

use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;
use crate::up::self_metrics;

/// `/metrics` on the API address.
pub struct OwnMetricsPart {
    registry: prometheus::Registry,
}

impl OwnMetricsPart {
    /// The platform's registry.
    pub fn new(platform: &Platform) -> Self {
        Self {
            registry: platform.metrics.registry.clone(),
        }
    }
}

impl Part for OwnMetricsPart {
    fn name(&self) -> &'static str {
        "own metrics"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        let registry = self.registry.clone();
        let routes = Router::new().route(
            "/metrics",
            get(move || async move { self_metrics::render(&registry) }),
        );
        vec![Endpoint::Http(ListenerKind::Api, routes)]
    }
}
