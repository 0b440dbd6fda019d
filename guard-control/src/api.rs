//! The control plane over HTTP: the admin API operators use (list, pin, force, release,
//! audit) and the long-poll external apps follow (`directives`, `report`).
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /api/v1/guards` | every guard: rule decision, operator decision, directive, reported state |
//! | `POST /api/v1/guards/{service}/{guard}` | an operator's decision: `{"command": "open_breaker", "reason": "...", "who": "..."}`; `release` hands the guard back |
//! | `GET /api/v1/guards/audit?service=&guard=&limit=` | the audit log, newest first |
//! | `GET /api/v1/guards/directives?service=&since=&wait=` | long-poll: what changed for `service` after version `since`, waiting up to `wait` (≤ 60s) |
//! | `POST /api/v1/guards/report` | a service's guard states and what it applied |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use taishan_core::{DecisionSource, GuardCommand, GuardDecision, GuardTarget};
use tokio::sync::Semaphore;

use crate::plane::{ControlPlane, Directive, ReportedGuard};

/// Longest a long-poll may wait.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Long-polls parked at once; more are refused with 503 rather than queued.
const MAX_WAITING: usize = 1024;

#[derive(Clone)]
struct ApiState {
    plane: Arc<ControlPlane>,
    waiting: Arc<Semaphore>,
}

/// The routes over `plane`.
pub fn guard_routes(plane: Arc<ControlPlane>) -> Router {
    Router::new()
        .route("/api/v1/guards", get(list))
        .route("/api/v1/guards/audit", get(audit))
        .route("/api/v1/guards/directives", get(directives))
        .route("/api/v1/guards/report", post(report))
        .route("/api/v1/guards/{service}/{guard}", post(decide))
        .with_state(ApiState {
            plane,
            waiting: Arc::new(Semaphore::new(MAX_WAITING)),
        })
}

/// An error in Prometheus's API shape.
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_data",
            message: message.into(),
        }
    }

    /// The audit log could not take what was asked: nothing changed; retry.
    fn unaudited(e: crate::AuditError) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "unavailable",
            message: format!("not recorded, so not applied: {e}"),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({"status": "error", "errorType": self.kind, "error": self.message})),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

fn ok(data: serde_json::Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

async fn list(State(s): State<ApiState>) -> Response {
    ok(json!({ "guards": s.plane.guards() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    service: Option<String>,
    guard: Option<String>,
    limit: Option<usize>,
}

async fn audit(State(s): State<ApiState>, Query(p): Query<AuditParams>) -> Response {
    let limit = p.limit.unwrap_or(100).min(10_000);
    ok(json!({ "entries": s.plane.audit_entries(p.service.as_deref(), p.guard.as_deref(), limit) }))
}

/// An operator's decision as posted.
#[derive(Deserialize)]
struct OperatorDecision {
    #[serde(flatten)]
    command: GuardCommand,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    who: String,
}

async fn decide(
    State(s): State<ApiState>,
    Path((service, guard)): Path<(String, String)>,
    identity: Option<axum::Extension<taishan_core::Identity>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let d: OperatorDecision = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(format!(
            "invalid decision: {e}; expected {{\"command\": open_breaker | half_open_breaker | close_breaker | degrade | undegrade | set_rate_limit (with rate, burst) | release (with probe), \"reason\": \"...\", \"who\": \"...\"}}"
        ))
    })?;
    if let GuardCommand::SetRateLimit { rate, .. } = d.command {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(ApiError::bad(format!("rate must be above 0, got {rate}")));
        }
    }
    if d.reason.trim().is_empty() {
        return Err(ApiError::bad(
            "reason is required: say why, for the audit log",
        ));
    }
    let target = GuardTarget { service, guard };
    let Some(known) = s.plane.guard(&target) else {
        let of_service: Vec<String> = s
            .plane
            .guards()
            .into_iter()
            .filter(|g| g.target.service == target.service)
            .map(|g| g.target.guard)
            .collect();
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message: format!(
                "no guard {target} has reported to the control plane (guards of {}: {})",
                target.service,
                if of_service.is_empty() {
                    "none".to_string()
                } else {
                    of_service.join(", ")
                }
            ),
        });
    };
    if let Some(r) = &known.reported {
        if !r.kind.accepts(&d.command) {
            return Err(ApiError::bad(format!(
                "{target} is a {} guard; {} does not apply to it",
                r.kind,
                d.command.name()
            )));
        }
    }
    let who = taishan_core::Identity::actor(identity.as_deref(), &d.who);
    let decision = GuardDecision {
        target: target.clone(),
        command: d.command,
        source: DecisionSource::Operator { who },
        reason: d.reason,
        at_ms: s.plane.now_ms(),
    };
    // The audit log syncs to disk: off the async workers.
    let plane = s.plane.clone();
    tokio::task::spawn_blocking(move || plane.submit(decision))
        .await
        .map_err(|e| ApiError::internal(format!("recording the decision failed: {e}")))?
        .map_err(ApiError::unaudited)?;
    Ok(ok(json!({ "guard": s.plane.guard(&target) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectiveParams {
    service: String,
    #[serde(default)]
    since: u64,
    wait: Option<String>,
}

/// The long-poll answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DirectivesAnswer {
    /// Pass as `since` next time.
    pub version: u64,
    /// What changed for the service.
    pub directives: Vec<RemoteDirective>,
}

/// A directive as sent to an external app.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RemoteDirective {
    /// The guard's name within the service.
    pub guard: String,
    /// What to do.
    pub command: GuardCommand,
    /// Why.
    pub reason: String,
    /// Its version.
    pub version: u64,
}

impl From<Directive> for RemoteDirective {
    fn from(d: Directive) -> Self {
        Self {
            guard: d.target.guard,
            command: d.command,
            reason: d.reason,
            version: d.version,
        }
    }
}

async fn directives(
    State(s): State<ApiState>,
    Query(p): Query<DirectiveParams>,
) -> Result<Response, ApiError> {
    let wait = match p.wait.as_deref() {
        None | Some("") => Duration::ZERO,
        Some(w) => humantime::parse_duration(w)
            .map_err(|e| ApiError::bad(format!("wait: {e} (e.g. 30s)")))?,
    }
    .min(MAX_WAIT);
    let mut changes = s.plane.subscribe();
    let (mut version, mut found) = s.plane.directives(&p.service, p.since);
    if found.is_empty() && !wait.is_zero() {
        let Ok(_permit) = s.waiting.clone().try_acquire_owned() else {
            return Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind: "unavailable",
                message: format!("{MAX_WAITING} long-polls are waiting already; retry"),
            });
        };
        let deadline = tokio::time::Instant::now() + wait;
        while found.is_empty() {
            tokio::select! {
                r = changes.changed() => if r.is_err() { break },
                _ = tokio::time::sleep_until(deadline) => break,
            }
            (version, found) = s.plane.directives(&p.service, p.since);
        }
    }
    let answer = DirectivesAnswer {
        version,
        directives: found.into_iter().map(RemoteDirective::from).collect(),
    };
    Ok(ok(serde_json::to_value(answer).unwrap_or_default()))
}

/// A service's report.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The service.
    pub service: String,
    /// Its guards' states.
    pub guards: Vec<ReportedGuard>,
    /// Directives carried out since the last report.
    #[serde(default)]
    pub applied: Vec<AppliedDirective>,
}

/// A directive carried out, or why not.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppliedDirective {
    /// The guard.
    pub guard: String,
    /// The command.
    pub command: GuardCommand,
    /// Why it failed, if it did.
    #[serde(default)]
    pub error: Option<String>,
}

async fn report(State(s): State<ApiState>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let r: Report = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(format!(
            "invalid report: {e}; expected {{\"service\": \"...\", \"guards\": [{{\"name\", \"kind\", \"state\"}}], \"applied\": [...]}}"
        ))
    })?;
    if r.service.is_empty() {
        return Err(ApiError::bad("service must not be empty"));
    }
    // Changes are audited, and the audit log syncs to disk: off the async workers.
    let plane = s.plane.clone();
    tokio::task::spawn_blocking(move || {
        for a in &r.applied {
            let target = GuardTarget {
                service: r.service.clone(),
                guard: a.guard.clone(),
            };
            plane.applied(&target, &a.command, a.error.clone())?;
        }
        plane.report(&r.service, &r.guards)
    })
    .await
    .map_err(|e| ApiError::internal(format!("recording the report failed: {e}")))?
    .map_err(ApiError::unaudited)?;
    Ok(ok(json!({})))
}
