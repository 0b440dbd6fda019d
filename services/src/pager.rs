//! The demo's on-call phones: where the alerter pages the demo's on-call engineers, so the
//! whole loop (a fault, an alert, a page to a person) can be watched on one machine.
//!
//! `POST /pages/{person}` takes a notification in Alertmanager's webhook format and keeps
//! it; `GET /pages?person=` lists what each person received, newest first. Only the last
//! [`KEPT`] pages are kept: the demo runs for days without growing.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use taishan_core::Clock;

/// Pages kept, newest first.
pub const KEPT: usize = 1000;

/// One page as a phone shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Who was paged.
    pub person: String,
    /// When it arrived (Unix ms).
    pub received_ms: i64,
    /// `firing` or `resolved`.
    pub status: String,
    /// The alert names in it.
    pub alerts: Vec<String>,
    /// The group's labels.
    pub group: serde_json::Value,
    /// What the phone shows of each alert: its name, summary and likely root cause.
    pub lines: Vec<String>,
}

/// The phones.
pub struct Pager {
    pages: Mutex<VecDeque<Page>>,
    clock: Arc<dyn Clock>,
}

impl Pager {
    /// Phones with nothing received.
    pub fn new(clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            pages: Mutex::new(VecDeque::new()),
            clock,
        })
    }

    /// What `person` (everyone when `None`) received, newest first.
    pub fn pages(&self, person: Option<&str>) -> Vec<Page> {
        let pages = self.pages.lock();
        pages
            .iter()
            .filter(|p| person.is_none_or(|who| p.person == who))
            .cloned()
            .collect()
    }

    fn take(&self, person: String, body: &serde_json::Value) {
        let alerts = body["alerts"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let lines = body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
                let mut line = text(&a["labels"]["alertname"]);
                let summary = text(&a["annotations"]["summary"]);
                if !summary.is_empty() {
                    line.push_str(&format!(": {summary}"));
                }
                let cause = text(&a["annotations"]["root_cause"]);
                if !cause.is_empty() {
                    line.push_str(&format!(" (likely root cause: {cause})"));
                }
                line
            })
            .collect();
        let page = Page {
            person,
            received_ms: self.clock.now_ms(),
            status: body["status"].as_str().unwrap_or("").to_string(),
            alerts,
            group: body["groupLabels"].clone(),
            lines,
        };
        tracing::info!(person = %page.person, status = %page.status, alerts = ?page.alerts, "demo pager: paged");
        let mut pages = self.pages.lock();
        pages.push_front(page);
        pages.truncate(KEPT);
    }
}

/// `POST /pages/{person}`, `GET /pages?person=`.
pub fn router(pager: Arc<Pager>) -> Router {
    Router::new()
        .route("/pages/{person}", post(receive))
        .route("/pages", get(list))
        .with_state(pager)
}

async fn receive(
    State(pager): State<Arc<Pager>>,
    Path(person): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, (StatusCode, String)> {
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        let message = format!("expected an Alertmanager webhook body: {e}");
        (StatusCode::BAD_REQUEST, message)
    })?;
    pager.take(person, &json);
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct Who {
    person: Option<String>,
}

async fn list(State(pager): State<Arc<Pager>>, Query(who): Query<Who>) -> Json<Vec<Page>> {
    Json(pager.pages(who.person.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::ManualClock;

    #[test]
    fn pages_are_kept_newest_first_and_bounded() {
        let pager = Pager::new(Arc::new(ManualClock::at(1_000)));
        let body = serde_json::json!({"status": "firing", "alerts": [{"labels": {"alertname": "BankChannelFailing"}, "annotations": {"summary": "bank-a fails", "root_cause": "bank-a (0.91)"}}], "groupLabels": {}});
        for i in 0..KEPT + 5 {
            pager.take(if i % 2 == 0 { "alice" } else { "bob" }.into(), &body);
        }
        assert_eq!(pager.pages(None).len(), KEPT);
        let alice = pager.pages(Some("alice"));
        assert!(alice.iter().all(|p| p.person == "alice"));
        assert_eq!(alice[0].alerts, vec!["BankChannelFailing".to_string()]);
        assert_eq!(
            alice[0].lines,
            ["BankChannelFailing: bank-a fails (likely root cause: bank-a (0.91))"]
        );
    }
}
