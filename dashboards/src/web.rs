//! The pages: `/` (the home dashboard), `/d/{name}` (any dashboard), the assets they load
//! (`/ui/assets/...`, compiled in: no CDN, the machine may be offline) and `/ui/events`, a
//! server-sent event each refresh interval that tells open pages to redraw. The pages read
//! their data from the Prometheus API on the same address (`/api/v1/query_range`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use serde::Deserialize;
use tokio_stream::wrappers::IntervalStream;
use tokio_stream::StreamExt;

use crate::catalog::Catalog;

/// What the pages are served from.
#[derive(Clone)]
pub struct UiState {
    catalog: Arc<Catalog>,
    templates: Arc<tera::Tera>,
}

impl UiState {
    /// Pages over `catalog`.
    pub fn new(catalog: Arc<Catalog>) -> Result<Self, tera::Error> {
        let mut templates = tera::Tera::default();
        templates.add_raw_templates(TEMPLATES.iter().copied())?;
        Ok(Self {
            catalog,
            templates: Arc::new(templates),
        })
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
];

/// Compiled-in assets: (path under `/ui/assets/`, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "taishan.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/taishan.js"),
    ),
    (
        "taishan.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/taishan.css"),
    ),
    (
        "vendor/uplot/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/uPlot.iife.min.js"),
    ),
    (
        "vendor/uplot/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/uPlot.min.css"),
    ),
    (
        "vendor/uplot/LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/LICENSE"),
    ),
];

/// The UI's routes.
pub fn ui_routes(state: UiState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/d/{name}", get(dashboard))
        .route("/ui/assets/{*path}", get(asset))
        .route("/ui/events", get(events))
        .with_state(state)
}

async fn home(state: State<UiState>) -> Response {
    dashboard(state, Path("home".to_string())).await
}

async fn dashboard(State(s): State<UiState>, Path(name): Path<String>) -> Response {
    let Some(d) = s.catalog.get(&name) else {
        let known: Vec<String> = s.catalog.titles().into_iter().map(|(n, _)| n).collect();
        let message = format!("no dashboard {name:?}; there are: {}", known.join(", "));
        return (StatusCode::NOT_FOUND, message).into_response();
    };
    let mut ctx = tera::Context::new();
    ctx.insert("name", &name);
    ctx.insert("dashboard", d.as_ref());
    // Inside a <script> element: no "<" may close it early.
    let spec = serde_json::to_string(d.as_ref()).unwrap_or_default();
    ctx.insert("spec_json", &spec.replace('<', "\\u003c"));
    ctx.insert("dashboards", &s.catalog.titles());
    let problems: Vec<String> = s
        .catalog
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    ctx.insert("problems", &problems);
    ctx.insert("range_s", &d.range.as_secs());
    ctx.insert("refresh_s", &d.refresh.as_secs());
    match s.templates.render("dashboard.html", &ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(dashboard = %name, "page not rendered: {e:?}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("page not rendered: {e}"),
            )
                .into_response()
        }
    }
}

async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("no asset {path:?}")).into_response(),
    }
}

/// `?every=10` (seconds, 1 to 3600).
#[derive(Debug, Deserialize)]
struct EventsParams {
    every: Option<u64>,
}

async fn events(
    Query(p): Query<EventsParams>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let every = Duration::from_secs(p.every.unwrap_or(10).clamp(1, 3600));
    let mut sent: u64 = 0;
    let ticks = IntervalStream::new(tokio::time::interval(every))
        // An event without data is not dispatched by browsers: each carries its number.
        .map(move |_| {
            sent += 1;
            Ok(Event::default().event("refresh").data(sent.to_string()))
        });
    Sse::new(ticks).keep_alive(KeepAlive::default())
}
