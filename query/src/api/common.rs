//! What every endpoint shares: parameters, the tenant, blocking work, timing.

use std::time::Instant;

use axum::http::HeaderMap;
use axum::response::Response;
use taishan_core::{TenantId, TENANT_HEADER};

use super::response::ApiError;
use super::QueryState;

/// The tenant of a request, from `X-Scope-OrgID`.
pub fn tenant(headers: &HeaderMap) -> Result<TenantId, ApiError> {
    TenantId::from_header(headers.get(TENANT_HEADER).map(|v| v.as_bytes()))
        .map_err(|e| ApiError::bad_data(format!("invalid {TENANT_HEADER} header: {e}")))
}

/// Runs store or engine work on a blocking thread, off the async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
}

/// Answers with `work`'s response or error, recording the time taken per endpoint.
pub async fn timed(
    state: &QueryState,
    endpoint: &str,
    work: impl std::future::Future<Output = Result<Response, ApiError>>,
) -> Response {
    let start = Instant::now();
    let resp = match work.await {
        Ok(r) => r,
        Err(e) => {
            state
                .metrics
                .errors
                .with_label_values(&[endpoint, e.kind()])
                .inc();
            axum::response::IntoResponse::into_response(e)
        }
    };
    state
        .metrics
        .duration
        .with_label_values(&[endpoint])
        .observe(start.elapsed().as_secs_f64());
    resp
}
