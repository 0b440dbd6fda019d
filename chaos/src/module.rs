//! The service modules a fault can take down: each registers under its service name, and a
//! `crash` fault scoped to that service crashes it and brings it back.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

/// A service module that can crash and restart in place: it stops serving at once (new
/// connections refused, open ones cut), and a restart serves again on the same address.
pub trait ServiceModule: Send + Sync {
    /// Stops serving now, dropping what is in flight.
    fn crash(&self);
    /// Serves again; a no-op when it is serving.
    fn restart(&self);
    /// Whether it serves now.
    fn serving(&self) -> bool;
}

/// The modules faults may crash, by service name; cheap to clone (clones share them).
#[derive(Clone, Default)]
pub struct Modules {
    by_name: Arc<RwLock<BTreeMap<String, Arc<dyn ServiceModule>>>>,
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.read().keys()).finish()
    }
}

impl Modules {
    /// Registers `module` as `service` (replacing one of the same name).
    pub fn register(&self, service: &str, module: Arc<dyn ServiceModule>) {
        self.by_name.write().insert(service.to_string(), module);
    }

    /// The module of `service`, or why there is none.
    pub fn get(&self, service: &str) -> Result<Arc<dyn ServiceModule>, String> {
        let by_name = self.by_name.read();
        by_name.get(service).cloned().ok_or_else(|| {
            let known: Vec<&str> = by_name.keys().map(String::as_str).collect();
            match known.is_empty() {
                true => format!("no service module {service:?} runs here to crash"),
                false => format!(
                    "no service module {service:?} to crash; one of {}",
                    known.join(", ")
                ),
            }
        })
    }
}
