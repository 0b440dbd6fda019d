//! The views that are not dashboards of panels: each a page at `/ui/{name}` whose script
//! (`assets/views/{name}.js`) reads the APIs on the same address: traces and logs from the
//! query API, the service graph from `/api/topology`, alerts from the rules and the alerter
//! (mounted under `/alerter`), guards from `/api/v1/guards`. Actions (ack, resolve, silence,
//! guard decisions) go through the same APIs with the page's CSRF token, who and why.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::web::UiState;

/// The views, in the navigation's order: (name, title, what it answers).
pub const VIEWS: &[(&str, &str, &str)] = &[
    ("topology", "Topology", "Who calls whom, how often, how it fails and how slowly: the service graph from traces"),
    ("traces", "Traces", "Find a request, see where its time went and what it logged"),
    ("logs", "Logs", "Search the services' logs, or follow them live"),
    ("alerts", "Alerts", "What is firing, who has it, and what happened before"),
    ("guards", "Guards", "Every breaker, limiter and degrade switch: its state, the decision in force, and who changed it"),
    ("explore", "Explore", "Ask anything in PromQL: a graph and a table"),
    ("drills", "Drills", "Fault-injection drills: each run's verdict, timings and money proof, the faults armed now, and the kill switch"),
];

/// `GET /ui/{view}`.
pub async fn view(
    State(s): State<UiState>,
    Path(name): Path<String>,
    session: Option<axum::Extension<taishan_core::Session>>,
) -> Response {
    let Some((name, title, description)) = VIEWS.iter().find(|(n, _, _)| *n == name) else {
        let known: Vec<&str> = VIEWS.iter().map(|(n, _, _)| *n).collect();
        let message = format!("no view {name:?}; there are: {}", known.join(", "));
        return (StatusCode::NOT_FOUND, message).into_response();
    };
    let mut ctx = s.page_context(name, session.as_deref());
    ctx.insert("title", title);
    ctx.insert("description", description);
    s.render("view.html", &ctx)
}
