//! The chaos part's HTTP API, served on the API address (`api` feature; the services embed
//! the fault layer without it): the faults ([`faults`]), the books of a drill's money proof
//! ([`books`]), the drills this process runs and their schedule ([`drills`]), the drill
//! reports ([`history`], exported as HTML by `export`), and the client a drill runner
//! drives a running Taishan with ([`HttpPlatform`]).

pub mod books;
pub mod drills;
mod export;
pub mod faults;
pub mod history;
mod http_platform;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub use books::BooksSlot;
pub use drills::DrillDesk;
pub use history::DrillHistory;
pub use http_platform::HttpPlatform;

/// The chaos API's success envelope (the query API's shape).
pub(crate) fn answer(status: StatusCode, data: impl serde::Serialize) -> Response {
    (status, Json(json!({"status": "success", "data": data}))).into_response()
}

/// The chaos API's error envelope: the status and the reason.
pub(crate) fn error(status: StatusCode, message: String) -> Response {
    let body = json!({"status": "error", "errorType": "bad_data", "error": message});
    (status, Json(body)).into_response()
}
