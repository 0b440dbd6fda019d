//! The guard control plane's API: the guards, decisions on them, and the audit log.

use std::sync::Arc;

use taishan_edge::ListenerKind;
use taishan_guard_control::{guard_routes, ControlPlane};

use crate::up::part::{Endpoint, Part};
use crate::up::platform::Platform;

/// The control plane, served on the API address.
pub struct GuardsPart {
    plane: Arc<ControlPlane>,
}

impl GuardsPart {
    /// The platform's control plane.
    pub fn new(platform: &Platform) -> Self {
        Self {
            plane: platform.plane.clone(),
        }
    }
}

impl Part for GuardsPart {
    fn name(&self) -> &'static str {
        "guards"
    }

    fn endpoints(&mut self) -> Vec<Endpoint> {
        vec![Endpoint::Http(
            ListenerKind::Api,
            guard_routes(self.plane.clone()),
        )]
    }
}
