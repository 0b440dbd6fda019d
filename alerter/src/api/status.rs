//! `/api/v2/status`, `/api/v2/receivers` and `/-/reload`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::service::Alerter;
use crate::timefmt::api_time;

/// The Alertmanager release whose API this one answers as: clients such as amtool compare
/// it with their own version. Taishan's own version is in `revision`.
const COMPATIBLE_VERSION: &str = "0.25.0";

/// `GET /api/v2/status`: the config as written, uptime, cluster and version.
pub async fn status(State(alerter): State<Arc<Alerter>>) -> Json<Value> {
    let config = alerter.config();
    Json(json!({
        "cluster": {"name": "", "peers": [], "status": "disabled"},
        "config": {"original": crate::config::masked(&config.original)},
        "uptime": api_time(alerter.started_ms()),
        "versionInfo": {
            "branch": "taishan",
            "buildDate": "",
            "buildUser": "",
            "goVersion": "",
            "revision": concat!("taishan-", env!("CARGO_PKG_VERSION")),
            "version": COMPATIBLE_VERSION,
        },
    }))
}

/// `GET /api/v2/receivers`.
pub async fn receivers(State(alerter): State<Arc<Alerter>>) -> Json<Value> {
    let config = alerter.config();
    Json(Value::Array(
        config
            .config
            .receivers
            .iter()
            .map(|r| json!({"name": r.name}))
            .collect(),
    ))
}

/// `POST /-/reload`: reads the config file again; 500 with every problem when it is
/// refused (as Alertmanager answers), the old config staying in force.
pub async fn reload(State(alerter): State<Arc<Alerter>>) -> Response {
    let me = alerter.clone();
    match tokio::task::spawn_blocking(move || me.reload()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed: {e}"),
        )
            .into_response(),
    }
}
