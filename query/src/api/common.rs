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

/// Runs store or engine work like [`blocking`], behind the query gate (a turn among
/// `query.max_concurrency`, 503 with `Retry-After` when the queue is full; 429 when
/// `tenant` holds its `query.max_concurrency_per_tenant` already) and within
/// `query.timeout`: past it the caller gets a 503 naming the limit, and the work keeps
/// its turn until it ends, so an abandoned scan still counts against the concurrency.
pub async fn gated<T: Send + 'static>(
    state: &QueryState,
    tenant: TenantId,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let timeout = state.engine.limits().timeout;
    let turn = state.gate.enter(&tenant, timeout).await?;
    let task = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    });
    match tokio::time::timeout(timeout, task).await {
        Ok(joined) => joined.map_err(|e| ApiError::internal(format!("query task failed: {e}")))?,
        Err(_) => Err(ApiError::from(crate::engine::QueryError::Timeout(format!(
            "the request ran past query.timeout ({})",
            humantime::format_duration(timeout)
        )))),
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use taishan_core::ManualClock;
    use taishan_store::{StorageConfig, StoreMetrics, Tsdb, TsdbOptions};

    use super::*;
    use crate::api::QueryMetrics;
    use crate::QueryConfig;

    /// Work past `query.timeout` answers 503 at the timeout, and keeps its turn at the gate
    /// until it ends: the next request queues behind it.
    // Real time, briefly: tokio's paused clock does not advance while blocking work runs.
    #[tokio::test]
    async fn gated_work_times_out_and_holds_its_turn_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at(0));
        let db = Tsdb::open(TsdbOptions {
            dir: dir.path().to_path_buf(),
            config: StorageConfig::default(),
            queue_capacity: 4,
            retry_after: Duration::from_secs(1),
            clock: clock.clone(),
            metrics: StoreMetrics::unregistered(),
        })
        .unwrap();
        let limits = QueryConfig {
            timeout: Duration::from_millis(100),
            max_concurrency: 1,
            ..QueryConfig::default()
        };
        let metrics = QueryMetrics::register(&prometheus::Registry::new()).unwrap();
        let state = QueryState::new(Arc::new(db), limits, clock, metrics);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let t = TenantId::default_tenant();
        let err = gated(&state, t.clone(), move || {
            let _ = wait.recv();
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "timeout");
        assert!(
            format!("{err:?}").contains("query.timeout (100ms)"),
            "{err:?}"
        );
        // The abandoned work still holds the only slot.
        let queued = state.gate.enter(&t, Duration::from_millis(10)).await;
        assert!(queued.is_err(), "the slot was freed before the work ended");
        release.send(()).unwrap();
        assert!(state.gate.enter(&t, Duration::from_secs(5)).await.is_ok());
    }
}
