//! `taishan-guard-control`: the guard control plane. Rules' actions and operators decide,
//! the services' guards (`taishan-guard`) follow.
//!
//! Contract: every decision names one guard of one service, carries who made it, why and
//! when, and is written to the [`audit`] log (synced) before it counts; a decision the log
//! cannot take is refused, and the HTTP API answers 503 with the reason. An operator's
//! decision is in force over a rule's until the operator releases the guard. Followers learn
//! of a change at once — in the same process through [`follower::follow`], from another
//! process by long-polling the [`api`] ([`remote::follow_remote`]) — carry it out on their
//! [`taishan_guard::Guards`] and report their guards' typed states back, so the plane shows
//! what each guard is really doing.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod follower;
pub mod metrics;
pub mod plane;
pub mod remote;

pub use api::guard_routes;
pub use audit::{AuditEntry, AuditError, AuditEvent, AuditLog};
pub use follower::{follow, Follower};
pub use metrics::ControlMetrics;
pub use plane::{ControlPlane, Directive, GuardRecord, ReportedGuard};
pub use remote::follow_remote;
