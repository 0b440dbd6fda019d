//! Operator endpoints: health, readiness, and forcing storage upkeep.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use taishan_store::Tsdb;

/// `/-/healthy`, `/-/ready`, `POST /api/v1/admin/tsdb/{flush,compact}`.
pub fn routes(db: Arc<Tsdb>) -> Router {
    Router::new()
        .route("/-/healthy", get(|| async { "Taishan is healthy.\n" }))
        .route("/-/ready", get(|| async { "Taishan is ready.\n" }))
        .route("/api/v1/admin/tsdb/flush", post(flush))
        .route("/api/v1/admin/tsdb/compact", post(compact))
        .with_state(db)
}

/// Persists the whole head into blocks now.
async fn flush(State(db): State<Arc<Tsdb>>) -> Response {
    run(db, |db| {
        db.cut_blocks(true).map(|n| json!({"blocksCut": n}))
    })
    .await
}

/// Merges every block that can be merged now.
async fn compact(State(db): State<Arc<Tsdb>>) -> Response {
    run(db, |db| db.compact(true).map(|n| json!({"compactions": n}))).await
}

async fn run(
    db: Arc<Tsdb>,
    work: impl FnOnce(&Tsdb) -> Result<serde_json::Value, taishan_store::StoreError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || work(&db)).await {
        Ok(Ok(data)) => Json(json!({"status": "success", "data": data})).into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"status": "error", "errorType": "internal", "error": e.to_string()})),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
