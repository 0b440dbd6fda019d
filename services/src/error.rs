//! How the services answer when a request cannot be served: one mapping to HTTP statuses.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Why a service refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is malformed or breaks a rule; nothing was written.
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts what is already recorded (an idempotency key reused with a
    /// different request, a state change that is no longer possible).
    #[error("{0}")]
    Conflict(String),
    /// Refused for now (a guard, a dependency down); try again later.
    #[error("{reason}")]
    Unavailable {
        /// What is unavailable.
        reason: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// A dependency answered with something this service cannot use.
    #[error("{0}")]
    Upstream(String),
    /// A fault of this service (its database, a broken invariant).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(format!("database: {e}"))
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let mut response = (
            status,
            Json(json!({"error": kind, "reason": self.to_string()})),
        )
            .into_response();
        if let Self::Unavailable { retry_after, .. } = &self {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// A JSON body whose problems (wrong type, missing field, not JSON) are a 400 naming them.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(e) => Err(ServiceError::BadRequest(rejection_reason(&e))),
        }
    }
}

fn rejection_reason(e: &JsonRejection) -> String {
    format!("request body: {}", e.body_text())
}
