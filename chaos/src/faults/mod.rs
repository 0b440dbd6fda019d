//! The faults, one file each, registered in [`FAULTS`].
//!
//! # The contract
//! A fault is built from its spec's parameters ([`FaultKind::build`], which refuses unknown
//! or impossible parameters with a message naming them) and, once armed, acts through one
//! of four hooks: it decides what happens to each request in its scope ([`Fault::inject`]:
//! delayed, answered with an error, held until it times out), or it changes how a simulated
//! bank channel in its scope behaves ([`Fault::bank_channel`]: transfers failing, slow,
//! callbacks lost, late or duplicated), or it runs while armed ([`Fault::start`]: cores
//! kept busy, memory held, a service module crashed until its restart), watching its own
//! [`Lease`], or it acts on the data crossing a fault proxy ([`Fault::link`]: delayed,
//! throttled, reset, swallowed). A fault holds no state that outlives it: disarming it
//! (stop, abort, or its lease running out) is the revert, and the next request, transfer or
//! chunk is clean, the burn stopped, the memory freed, the crashed module serving again.
//! Randomness comes from the `rng` passed in, so a drill with a seed replays the same way.

mod bank;
mod crash;
mod error;
mod latency;
mod network;
mod resources;
mod timeout;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ChannelProfile;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

pub use network::LinkEffect;

use crate::module::Modules;
use crate::scope::Scope;

/// What a fault does to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Injection {
    /// Served after this long.
    Delay(Duration),
    /// Answered at once with this status and message, never reaching the service.
    Respond {
        /// The HTTP status.
        status: u16,
        /// The body.
        message: String,
    },
    /// Held this long, then answered 504, as an upstream that never answers.
    Hold(Duration),
}

/// One armed fault's behaviour.
pub trait Fault: Send + Sync + fmt::Debug {
    /// What happens to a request in scope (`None`: it passes untouched).
    fn inject(&self, _rng: &mut SmallRng) -> Option<Injection> {
        None
    }

    /// How a bank channel in scope behaves while the fault holds (most faults leave it).
    fn bank_channel(&self, _profile: &mut ChannelProfile) {}

    /// What a network fault does to data crossing a fault proxy in scope (most leave it).
    fn link(&self, _rng: &mut SmallRng) -> Option<LinkEffect> {
        None
    }

    /// Starts what the fault does by itself while armed (most do nothing); it stops when
    /// the returned handle is dropped or the lease is no longer live. An error (no such
    /// module to crash) refuses the arming.
    fn start(&self, _at: Start<'_>) -> Result<Option<Box<dyn Running>>, String> {
        Ok(None)
    }
}

/// What a fault starting is given: its lease, its scope and the modules it may act on.
pub struct Start<'a> {
    /// The lease it must watch.
    pub lease: Lease,
    /// Where it was armed.
    pub scope: &'a Scope,
    /// The service modules that can crash.
    pub modules: &'a Modules,
}

/// What a started fault leaves running; dropping it stops it.
pub trait Running: Send + Sync + fmt::Debug {}

/// A running fault's stop flag, raised when it is dropped (a burn's threads and a held
/// block watch it; a crash's watch restarts the module).
#[derive(Debug)]
struct Stop(Arc<std::sync::atomic::AtomicBool>);

impl Running for Stop {}

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An armed fault's lease, as a running fault watches it.
#[derive(Clone)]
pub struct Lease {
    until_ms: Arc<std::sync::atomic::AtomicI64>,
    clock: Arc<dyn taishan_core::Clock>,
}

impl Lease {
    /// The lease held in `until_ms`, read on `clock`.
    pub fn new(
        until_ms: Arc<std::sync::atomic::AtomicI64>,
        clock: Arc<dyn taishan_core::Clock>,
    ) -> Self {
        Self { until_ms, clock }
    }

    /// Whether it still holds.
    pub fn live(&self) -> bool {
        self.until_ms.load(std::sync::atomic::Ordering::Relaxed) > self.clock.now_ms()
    }
}

/// A fault as written in a drill or posted to the API: its kind and that kind's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// One of [`FAULTS`].
    pub kind: String,
    /// The kind's parameters.
    #[serde(flatten)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// A kind of fault: its name, what it does, and how it is built from parameters.
pub struct FaultKind {
    /// The name specs use.
    pub name: &'static str,
    /// One line for `--help` and errors.
    pub what: &'static str,
    /// Builds it, or says which parameter is wrong and why.
    pub build: fn(&serde_json::Value) -> Result<Arc<dyn Fault>, String>,
}

/// Every fault kind: the one registration point.
pub const FAULTS: &[FaultKind] = &[
    FaultKind {
        name: "latency",
        what: "adds latency: fixed (delay) or drawn between min and max, or around a mean",
        build: latency::build,
    },
    FaultKind {
        name: "error",
        what: "answers with an HTTP status (503 by default) instead of serving",
        build: error::build,
    },
    FaultKind {
        name: "timeout",
        what: "holds the request (30s by default), then answers 504",
        build: timeout::build,
    },
    FaultKind {
        name: "cpu_burn",
        what: "keeps `cores` cores busy for `share` of their time (1 core, all of it, by default)",
        build: resources::build_burn,
    },
    FaultKind {
        name: "memory",
        what: "holds `size` of resident memory (e.g. 512MiB)",
        build: resources::build_memory,
    },
    FaultKind {
        name: "bank_outage",
        what: "a bank channel down: transfers accepted then failed (mode: fail), or refused with 503 (mode: refuse)",
        build: bank::build_outage,
    },
    FaultKind {
        name: "bank_slow",
        what: "a slow bank channel: acceptance takes `latency`, settlement `settle_after`",
        build: bank::build_slow,
    },
    FaultKind {
        name: "bank_callbacks",
        what: "a bank channel's result callbacks lost, late or duplicated (shares 0 to 1, delay)",
        build: bank::build_callbacks,
    },
    FaultKind {
        name: "crash",
        what: "crashes the scope's service module (connections refused and cut) and restarts it after `restart_after`",
        build: crash::build,
    },
    FaultKind {
        name: "net_latency",
        what: "a fault proxy delays each chunk of data by `delay` (± `jitter`), both ways",
        build: network::build_latency,
    },
    FaultKind {
        name: "net_bandwidth",
        what: "a fault proxy passes at most `rate` per second (e.g. 10KiB) each way",
        build: network::build_bandwidth,
    },
    FaultKind {
        name: "net_reset",
        what: "a fault proxy resets connections (TCP RST) as data crosses them",
        build: network::build_reset,
    },
    FaultKind {
        name: "net_blackhole",
        what: "a fault proxy swallows everything sent either way; connections hang",
        build: network::build_blackhole,
    },
];

/// Builds the fault `spec` describes.
pub fn build_fault(spec: &FaultSpec) -> Result<Arc<dyn Fault>, String> {
    let kind = FAULTS.iter().find(|k| k.name == spec.kind).ok_or_else(|| {
        let known: Vec<&str> = FAULTS.iter().map(|k| k.name).collect();
        format!(
            "unknown fault kind {:?}; one of {}",
            spec.kind,
            known.join(", ")
        )
    })?;
    (kind.build)(&serde_json::Value::Object(spec.params.clone()))
        .map_err(|e| format!("{} fault: {e}", kind.name))
}

/// Reads a kind's parameters into `T`, naming the parameter at fault.
pub(crate) fn params<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec(text: &str) -> FaultSpec {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn each_kind_builds_from_its_parameters() {
        let mut rng = SmallRng::seed_from_u64(1);
        let latency = build_fault(&spec(r#"{"kind": "latency", "delay": "200ms"}"#)).unwrap();
        assert_eq!(
            latency.inject(&mut rng),
            Some(Injection::Delay(Duration::from_millis(200)))
        );
        let error = build_fault(&spec(r#"{"kind": "error", "status": 500}"#)).unwrap();
        assert!(matches!(
            error.inject(&mut rng),
            Some(Injection::Respond { status: 500, .. })
        ));
        let timeout = build_fault(&spec(r#"{"kind": "timeout"}"#)).unwrap();
        assert_eq!(
            timeout.inject(&mut rng),
            Some(Injection::Hold(Duration::from_secs(30)))
        );
    }

    #[test]
    fn unknown_kinds_and_parameters_are_named() {
        let e = build_fault(&spec(r#"{"kind": "meteor"}"#)).unwrap_err();
        assert!(
            e.contains("unknown fault kind \"meteor\"") && e.contains("latency"),
            "{e}"
        );
        let e = build_fault(&spec(r#"{"kind": "latency", "dealy": "1s"}"#)).unwrap_err();
        assert!(
            e.starts_with("latency fault:") && e.contains("dealy"),
            "{e}"
        );
    }
}
