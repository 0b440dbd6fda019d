//! `POST /api/v1/chaos/books`: the demo's books for a drill's money proof
//! (`{"from_ms": .., "to_ms": .., "reconcile": true}`), read from the services' own records.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::{answer, error};
use crate::drill::{BookKeeper, BooksError};

/// Where the demo's books will be once the demo runs (it starts after the API is built).
pub type BooksSlot = Arc<OnceLock<Arc<dyn BookKeeper>>>;

/// The route over `slot`.
pub fn routes(slot: BooksSlot) -> Router {
    Router::new()
        .route("/api/v1/chaos/books", post(books))
        .with_state(slot)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    from_ms: i64,
    to_ms: i64,
    #[serde(default)]
    reconcile: bool,
}

async fn books(State(slot): State<BooksSlot>, body: axum::body::Bytes) -> Response {
    let w: Window = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => {
            let expected = r#"{"from_ms": 1, "to_ms": 2, "reconcile": false}"#;
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body: {e}; expected {expected}"),
            );
        }
    };
    let Some(books) = slot.get() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the demo services are not running: the books are theirs".into(),
        );
    };
    match books.read(w.from_ms, w.to_ms, w.reconcile).await {
        Ok(b) => answer(StatusCode::OK, b),
        Err(BooksError::Refused(why)) => error(StatusCode::BAD_REQUEST, why),
        Err(BooksError::Failed(why)) => error(StatusCode::INTERNAL_SERVER_ERROR, why),
    }
}
