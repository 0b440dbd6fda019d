//! The audit records of the requests the edge admits or refuses: an operator's or an
//! admin's state change, with who, their roles, the tenant, the client's address, what
//! and why (the request's `reason` or `comment`), and the answer's status.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use taishan_core::{Identity, TENANT_HEADER};

use crate::audit::{AuditLog, AuditRecord};

/// Largest body of an audited request: axum's default body limit, which the handlers
/// behind would apply anyway (a drill report with its timeline is the largest such body).
const BODY_LIMIT: usize = 2 << 20;

/// Runs an admitted request and records it.
pub async fn run(log: &AuditLog, kind: &'static str, request: Request, next: Next) -> Response {
    let base = record_of(log, kind, &request);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        let why = format!("the body of an audited request may be at most {BODY_LIMIT} bytes");
        return (StatusCode::PAYLOAD_TOO_LARGE, why).into_response();
    };
    let why = why_of(&bytes);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    log.append(
        AuditRecord {
            status: response.status().as_u16(),
            ..base
        }
        .with_why(&why),
    );
    response
}

/// Records a request refused at the edge (a missing credential, a wrong role or tenant).
pub fn refused(log: &AuditLog, request: &Request, status: StatusCode, reason: &str) {
    let record = AuditRecord {
        status: status.as_u16(),
        ..record_of(log, "refused", request)
    };
    log.append(record.with_why(reason));
}

fn record_of(log: &AuditLog, kind: &str, request: &Request) -> AuditRecord {
    let identity = request.extensions().get::<Identity>();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    AuditRecord {
        at_ms: log.now_ms(),
        kind: kind.to_string(),
        who: identity.map_or("-".into(), |i| i.name.to_string()),
        roles: identity.map_or(Vec::new(), |i| {
            i.roles.names().into_iter().map(String::from).collect()
        }),
        tenant: header(TENANT_HEADER),
        source: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or("unknown".into(), |c| c.0.to_string()),
        what: format!("{} {}", request.method(), request.uri().path()),
        status: 0,
        why: String::new(),
    }
}

/// The reason a JSON body gives (`reason`, `comment`, `why`).
fn why_of(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    ["reason", "comment", "why"]
        .iter()
        .find_map(|k| value.get(k).and_then(|v| v.as_str()))
        .unwrap_or("")
        .to_string()
}
