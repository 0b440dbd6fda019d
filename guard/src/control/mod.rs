//! The guard control plane: rules' actions and operators decide, the services' guards
//! follow.
//!
//! Contract: every decision names one guard of one service, carries who made it, why and
//! when, and is written to the [`audit`] log (synced) before it counts. An operator's
//! decision is in force over a rule's until the operator releases the guard. Followers learn
//! of a change at once — in the same process through [`follower::follow`], from another
//! process by long-polling the [`api`] ([`remote::follow_remote`]) — carry it out on their
//! [`crate::Guards`] and report their guards' states back, so the plane shows what each
//! guard is really doing.

pub mod api;
pub mod audit;
pub mod follower;
pub mod metrics;
pub mod plane;
pub mod remote;

pub use api::guard_routes;
pub use audit::{AuditEntry, AuditEvent, AuditLog};
pub use follower::{follow, Follower};
pub use metrics::ControlMetrics;
pub use plane::{ControlPlane, Directive, GuardRecord};
pub use remote::follow_remote;
