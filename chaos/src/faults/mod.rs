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

mod bank_callbacks;
mod bank_outage;
mod bank_slow;
mod cpu_burn;
mod crash;
mod error;
mod latency;
mod memory;
mod net_bandwidth;
mod net_blackhole;
mod net_latency;
mod net_reset;
mod timeout;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ChannelProfile;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

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

/// What a network fault does to a chunk of data crossing a fault proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEffect {
    /// Passed on after this long.
    Delay(Duration),
    /// Passed on no faster than this many bytes a second.
    Throttle(u64),
    /// The connection is reset, both sides.
    Reset,
    /// Dropped; the connection stays open.
    Blackhole,
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
    pub build: BuildFault,
}

/// Builds a fault from its parameters, or says which one is wrong and why.
pub type BuildFault = fn(&serde_json::Value) -> Result<Arc<dyn Fault>, String>;

/// Every fault kind: the one registration point (each kind's name, help and builder sit
/// in its own file).
pub const FAULTS: &[FaultKind] = &[
    latency::KIND,
    error::KIND,
    timeout::KIND,
    cpu_burn::KIND,
    memory::KIND,
    bank_outage::KIND,
    bank_slow::KIND,
    bank_callbacks::KIND,
    crash::KIND,
    net_latency::KIND,
    net_bandwidth::KIND,
    net_reset::KIND,
    net_blackhole::KIND,
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

/// A network fault that does the same to every chunk and takes no parameters.
#[derive(Debug)]
struct FixedLink(LinkEffect);

impl Fault for FixedLink {
    fn link(&self, _rng: &mut SmallRng) -> Option<LinkEffect> {
        Some(self.0)
    }
}

/// Builds a [`FixedLink`] doing `effect`, refusing any parameter.
pub(crate) fn fixed_link(
    v: &serde_json::Value,
    effect: LinkEffect,
) -> Result<Arc<dyn Fault>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoParams {}
    params::<NoParams>(v)?;
    Ok(Arc::new(FixedLink(effect)))
}

/// Reads a kind's parameters into `T`, naming the parameter at fault.
pub(crate) fn params<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

/// A bank channel's profile as a test starts it (`bank-a`, defaults), with the fault
/// `build` makes of `params` applied when there is one.
#[cfg(test)]
pub(crate) fn channel_under(fault: Option<(BuildFault, serde_json::Value)>) -> ChannelProfile {
    let mut p: ChannelProfile =
        serde_json::from_value(serde_json::json!({"name": "bank-a"})).expect("a profile");
    if let Some((build, params)) = fault {
        build(&params)
            .expect("the fault builds")
            .bank_channel(&mut p);
    }
    p
}

/// A lease live for `for_ms` from `clock`'s now.
#[cfg(test)]
pub(crate) fn lease_for(clock: &Arc<taishan_core::ManualClock>, for_ms: i64) -> Lease {
    use taishan_core::Clock;
    Lease::new(
        Arc::new(std::sync::atomic::AtomicI64::new(clock.now_ms() + for_ms)),
        clock.clone(),
    )
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
