//! Alertmanager's HTTP API v2 as served on 127.0.0.1:9093: the same paths, JSON shapes and
//! filters, so Prometheus, amtool and Alertmanager clients work unchanged; plus `/-/reload`,
//! `/-/healthy`, `/-/ready`, and Taishan's own under `/api/taishan/v1/` (delivery attempts,
//! on-call, incidents, acknowledgements, the links in pages).

mod alerts;
mod cluster;
mod history;
mod notifications;
mod oncall;
mod silences;
mod status;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::service::Alerter;

/// The router of the alerter's API.
pub fn alerter_routes(alerter: Arc<Alerter>) -> Router {
    Router::new()
        .route("/api/v2/alerts", get(alerts::list).post(alerts::post))
        .route("/api/v2/alerts/groups", get(alerts::groups))
        .route("/api/v2/silences", get(silences::list).post(silences::post))
        .route(
            "/api/v2/silence/{id}",
            get(silences::get_one).delete(silences::delete),
        )
        .route("/api/v2/status", get(status::status))
        .route("/api/v2/receivers", get(status::receivers))
        .route(
            "/api/taishan/v1/notifications",
            get(notifications::attempts),
        )
        .route("/api/taishan/v1/history", get(history::history))
        .route("/api/taishan/v1/oncall", get(oncall::who))
        .route("/api/taishan/v1/incidents", get(oncall::incidents))
        .route(
            "/api/taishan/v1/incidents/{id}/ack",
            post(oncall::ack_incident),
        )
        .route(
            "/api/taishan/v1/incidents/{id}/resolve",
            post(oncall::resolve_incident),
        )
        .route("/api/taishan/v1/alerts/ack", post(oncall::ack_alerts))
        .route(
            "/api/taishan/v1/alerts/resolve",
            post(oncall::resolve_alerts),
        )
        .route(
            "/api/taishan/v1/link",
            get(oncall::link_page).post(oncall::link_act),
        )
        .route("/-/reload", post(status::reload))
        .route("/-/healthy", get(|| async { "OK" }))
        .route("/-/ready", get(|| async { "OK" }))
        .merge(cluster_routes(&alerter))
        .with_state(alerter)
}

/// The route replicas share state by, on a replica that has peers only.
fn cluster_routes(alerter: &Alerter) -> Router<Arc<Alerter>> {
    match alerter.has_peers() {
        true => Router::new().route(
            "/api/taishan/v1/cluster/state",
            get(cluster::state).post(cluster::merge),
        ),
        false => Router::new(),
    }
}

/// An API error as Alertmanager sends it: the status and a JSON string.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) retry_after_s: Option<u64>,
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// A 401 with `message`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// A 500 with `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            retry_after_s: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::Value::String(self.message).to_string();
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = s.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
