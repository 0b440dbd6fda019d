//! `taishan-alerter`: the right alert to the right engineer, once.
//!
//! A drop-in for Alertmanager: `alertmanager.yml` unchanged ([`config`]), its routing tree
//! ([`routing`]) with [`matcher`]s in both syntaxes, aggregation groups ([`dispatch`]) over
//! the alerts held ([`alerts`], [`model`]), the notification pipeline with its dedup log
//! ([`notify`]) and the [`notifiers`] family, [`silences`] and [`inhibit`]ion, and its API
//! v2 ([`api`]), and on-call built in ([`oncall`]: teams, schedules, escalation,
//! acknowledgement). [`Alerter`] runs them on the injected clock.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod annotate;
pub mod api;
pub mod cluster;
pub mod compiled;
pub mod config;
pub mod dispatch;
pub mod history;
pub mod inhibit;
pub mod matcher;
pub mod metrics;
pub mod model;
pub mod notifiers;
pub mod notify;
pub mod oncall;
pub mod postable;
pub mod routing;
pub mod section;
mod service;
pub mod silences;
pub mod state;
pub mod time_intervals;
pub mod timefmt;

pub use annotate::AlertAnnotator;
pub use api::alerter_routes;
pub use compiled::{CompiledConfig, OnCallSource, OWNER_RECEIVER};
pub use config::ConfigErrors;
pub use metrics::AlerterMetrics;
pub use model::{Alert, Fingerprint, LabelSet};
pub use section::{AlerterConfig, ReceiverRateLimit};
pub use service::{Accepted, Alerter, AlerterOptions, FlushOutcome, PagingError};
