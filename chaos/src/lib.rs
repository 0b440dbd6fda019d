//! `taishan-chaos`: faults injected into the services on purpose, and always taken back.
//!
//! A fault ([`faults`]: added latency, errors, timeouts, ...) is armed in a [`FaultSet`] with
//! a [`Scope`] (which service, route, bank channel, and what share of the traffic) and a
//! lease: the one who armed it must renew the lease, or the fault reverts by itself, so a
//! drill runner that dies leaves no fault behind. The services consult the set on every
//! request through [`FaultLayer`], a tower layer whose cost with no fault armed is one
//! atomic load; network faults act in a [`FaultProxy`] between services (or any TCP
//! peers), and a crash takes a registered service module ([`Modules`]) down and back. A
//! drill ([`drill`]) is the faults on a schedule with a steady state, what must happen and
//! when to stop, written as YAML. With the `api` feature, the part serves its [`api`]:
//! faults, drills, their reports and the books of their money proofs.
#![forbid(unsafe_code)]

#[cfg(feature = "api")]
pub mod api;
pub mod channel_profile;
pub mod config;
pub mod drill;
pub mod faults;
pub mod layer;
pub mod module;
pub mod proxy;
pub mod scope;
pub mod set;

pub use channel_profile::ChannelProfile;
pub use config::{ChaosConfig, ProxyConfig, ScheduledDrill};
pub use drill::{parse_drill, run_drill, DrillReport, DrillSpec, Platform, RunOptions};
pub use faults::{
    build_fault, Fault, FaultSpec, Injection, Lease, LinkEffect, Running, Start, FAULTS,
};
pub use layer::FaultLayer;
pub use module::{Modules, ServiceModule};
pub use proxy::FaultProxy;
pub use scope::{RequestInfo, Scope};
pub use set::{ActiveFault, FaultError, FaultSet};
