//! `taishan-core`: the vocabulary every other Taishan crate speaks.
//!
//! Labels and series identity, the label [`Matcher`], samples and the staleness marker,
//! tenants, the batches that receivers hand to storage through the [`Bus`], the injected
//! [`Clock`], the decisions rules and operators make about guards ([`GuardDecision`]), the
//! [`config`] primitives every part's section is read with (placed YAML, field errors,
//! sizes), Prometheus's [`duration`] notation, the HMAC [`signer`], and the [`Ticker`] of
//! background loops.
#![forbid(unsafe_code)]

pub mod access;
pub mod batch;
pub mod bus;
pub mod clock;
pub mod config;
pub mod duration;
pub mod guard_decision;
pub mod labels;
#[cfg(feature = "telemetry")]
pub mod logs;
pub mod matcher;
pub mod metadata;
pub mod sample;
pub mod secret;
pub mod signer;
#[cfg(feature = "telemetry")]
pub mod spans;
pub mod tenant;
#[cfg(feature = "runtime")]
pub mod ticker;
pub mod wire;

pub use access::{Identity, Role, Roles, Session, Tenants};
pub use batch::{MetricBatch, SampleList, SeriesSamples};
pub use bus::{AppendError, AppendOutcome, Bus, InProcessBus, MetricSink, RejectReason, Rejection};
pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "runtime")]
pub use clock::{Interval, Sleep};
pub use guard_decision::{
    DecisionRefused, DecisionSink, DecisionSource, GuardCommand, GuardDecision, GuardTarget,
};
pub use labels::{Label, LabelError, LabelRef, Labels, METRIC_NAME};
#[cfg(feature = "telemetry")]
pub use logs::{LogBatch, LogSink};
pub use matcher::{InvalidMatcher, MatchOp, Matcher};
pub use metadata::{MetadataRegistry, MetricMetadata};
pub use sample::{is_stale_marker, Sample, STALE_NAN_BITS};
pub use secret::Secret;
#[cfg(feature = "telemetry")]
pub use spans::{
    AttributeValue, ResourceSpansView, ScopeSpansView, SpanBatch, SpanOutcome, SpanSink, SpanView,
};
pub use tenant::{TenantError, TenantId, TENANT_HEADER};
#[cfg(feature = "runtime")]
pub use ticker::{run_every, Ticker};
pub use wire::WireError;
