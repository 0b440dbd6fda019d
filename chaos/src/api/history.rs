//! The drill history: every report, kept in `<data-dir>/drills/history.jsonl` (one JSON
//! report a line, appended), served to the drills page and exported as evidence.
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /api/v1/chaos/reports` | record a report (`taishan drill run` does, at its end) |
//! | `GET /api/v1/chaos/reports` | the reports, newest first (`?drill=NAME`, `?limit=N`) |
//! | `GET /api/v1/chaos/reports/{id}` | one report |
//! | `GET /api/v1/chaos/reports/{id}/export` | one report as a self-contained HTML file (`?inline=true` to show it rather than download) |

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use taishan_core::Clock;

use super::export::export_html;
use super::{answer, error};

/// Fields a report must have to be recorded (what `taishan drill run -o json` prints).
const REQUIRED: &[&str] = &["drill", "verdict", "reasons", "timeline", "money", "score"];

/// The recorded reports.
pub struct DrillHistory {
    path: PathBuf,
    reports: Mutex<Vec<Value>>,
    clock: Arc<dyn Clock>,
}

impl DrillHistory {
    /// Opens (or starts) the history under `data_dir`; lines that do not read are skipped
    /// with a warning naming them.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> std::io::Result<Arc<Self>> {
        let dir = data_dir.join("drills");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("history.jsonl");
        let mut reports = Vec::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => reports.push(v),
                    Err(e) => {
                        tracing::warn!(file = %path.display(), line = i + 1, error = %e, "skipping a drill report that does not read")
                    }
                }
            }
        }
        Ok(Arc::new(Self {
            path,
            reports: Mutex::new(reports),
            clock,
        }))
    }

    /// Records `report`; its id.
    pub fn record(&self, mut report: Value) -> Result<String, String> {
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|f| report.get(f).is_none())
            .collect();
        if !missing.is_empty() || !report.is_object() {
            return Err(format!(
                "not a drill report: missing {}",
                missing.join(", ")
            ));
        }
        let now = self.clock.now_ms();
        let mut reports = self.reports.lock();
        let id = format!("r{now}-{}", reports.len() + 1);
        report["id"] = json!(id);
        report["recorded_ms"] = json!(now);
        let line = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        writeln!(file, "{line}")
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        reports.push(report);
        Ok(id)
    }

    /// When drill `name` last started (Unix ms), if it ever ran.
    pub fn last_started_ms(&self, name: &str) -> Option<i64> {
        let reports = self.reports.lock();
        let of = reports.iter().filter(|r| r["drill"] == name);
        of.filter_map(|r| r["timeline"]["started_ms"].as_i64())
            .max()
    }

    fn find(&self, id: &str) -> Option<Value> {
        self.reports.lock().iter().find(|r| r["id"] == id).cloned()
    }

    fn newest(&self, drill: Option<&str>, limit: usize) -> Vec<Value> {
        let reports = self.reports.lock();
        let chosen = reports
            .iter()
            .rev()
            .filter(|r| drill.is_none_or(|d| r["drill"] == d));
        chosen.take(limit).cloned().collect()
    }
}

/// The routes over `history`.
pub fn routes(history: Arc<DrillHistory>) -> Router {
    Router::new()
        .route("/api/v1/chaos/reports", post(record).get(list))
        .route("/api/v1/chaos/reports/{id}", get(one))
        .route("/api/v1/chaos/reports/{id}/export", get(export))
        .with_state(history)
}

async fn record(State(h): State<Arc<DrillHistory>>, body: axum::body::Bytes) -> Response {
    let report: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("the body: {e}")),
    };
    match h.record(report) {
        Ok(id) => answer(StatusCode::CREATED, json!({"id": id})),
        Err(e) if e.starts_with("not a drill report") => error(StatusCode::BAD_REQUEST, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[derive(Deserialize)]
struct ListParams {
    drill: Option<String>,
    limit: Option<usize>,
}

async fn list(State(h): State<Arc<DrillHistory>>, Query(p): Query<ListParams>) -> Response {
    let limit = p.limit.unwrap_or(200).min(10_000);
    answer(
        StatusCode::OK,
        json!({"reports": h.newest(p.drill.as_deref(), limit)}),
    )
}

async fn one(State(h): State<Arc<DrillHistory>>, UrlPath(id): UrlPath<String>) -> Response {
    match h.find(&id) {
        Some(r) => answer(StatusCode::OK, r),
        None => error(StatusCode::NOT_FOUND, format!("no drill report {id:?}")),
    }
}

#[derive(Deserialize)]
struct ExportParams {
    /// Shown in the page (the drills view) rather than downloaded.
    #[serde(default)]
    inline: bool,
}

async fn export(
    State(h): State<Arc<DrillHistory>>,
    UrlPath(id): UrlPath<String>,
    Query(p): Query<ExportParams>,
) -> Response {
    let Some(r) = h.find(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no drill report {id:?}"));
    };
    let disposition = if p.inline { "inline" } else { "attachment" };
    // A posted report names its drill: only its plain characters reach the header.
    let plain = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(80)
            .collect()
    };
    let file = format!(
        "{disposition}; filename=\"drill-{}-{}.html\"",
        plain(r["drill"].as_str().unwrap_or("report")),
        plain(&id)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, file),
            // Shown framed in the drills page: no script at all, its own styles, framed
            // only by this site's pages.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'".to_string(),
            ),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN".to_string()),
        ],
        export_html(&r),
    )
        .into_response()
}
