//! The pages: `/` (the home dashboard), `/d/{name}` (any dashboard), the assets they load
//! (`/ui/assets/...`, compiled in: no CDN, the machine may be offline), and their data:
//! `/ui/live/{name}` (a WebSocket, one evaluation per view shared by every page showing
//! it, see [`crate::live`]) and `/ui/data/{name}` (one evaluation, now).
//!
//! Both take the view in their query string as the page's URL holds it:
//! `range=<seconds>`, `refresh=<seconds>` (0: off), `var-<name>=<choice>` and, for a link
//! to a past moment, `end=<Unix seconds>`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::catalog::Catalog;
use crate::evaluate::View;
use crate::live::{FeedKey, LiveHub};
use axum::Extension;
use taishan_core::Session;
use taishan_edge::csrf::{self, CsrfGuard};

/// What the pages are served from.
#[derive(Clone)]
pub struct UiState {
    catalog: Arc<Catalog>,
    hub: Arc<LiveHub>,
    csrf: CsrfGuard,
    templates: Arc<tera::Tera>,
    /// Shown at the top of every page (the process serves others without credentials).
    warning: Option<String>,
}

impl UiState {
    /// Pages over `catalog`, their data from `hub`; their forms carry `csrf`'s token.
    pub fn new(
        catalog: Arc<Catalog>,
        hub: Arc<LiveHub>,
        csrf: CsrfGuard,
    ) -> Result<Self, tera::Error> {
        let mut templates = tera::Tera::default();
        templates.add_raw_templates(TEMPLATES.iter().copied())?;
        Ok(Self {
            catalog,
            hub,
            csrf,
            templates: Arc::new(templates),
            warning: None,
        })
    }

    /// Every page shows `warning` above its content.
    pub fn with_warning(mut self, warning: Option<String>) -> Self {
        self.warning = warning;
        self
    }

    /// The context every page starts from: navigation, problems, the CSRF token of the
    /// page's session (the edge's; `anonymous` where authentication is off).
    pub(crate) fn page_context(&self, here: &str, session: Option<&Session>) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("name", here);
        ctx.insert("dashboards", &self.catalog.titles());
        ctx.insert("views", crate::views::VIEWS);
        let problems: Vec<String> = self
            .catalog
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        ctx.insert("problems", &problems);
        ctx.insert("warning", &self.warning);
        let session = session.map_or(csrf::SESSION, |s| &s.0);
        ctx.insert("csrf_token", &self.csrf.token(session));
        ctx
    }

    /// `template` rendered, or a 500 saying why.
    pub(crate) fn render(&self, template: &str, ctx: &tera::Context) -> Response {
        match self.templates.render(template, ctx) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(%template, "page not rendered: {e:?}");
                let message = format!("page not rendered: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
            }
        }
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    ("view.html", include_str!("../templates/view.html")),
];

/// Compiled-in assets: (path under `/ui/assets/`, content type, bytes).
macro_rules! assets {
    ($(($path:literal, $kind:literal)),* $(,)?) => {
        &[$(($path, $kind, include_bytes!(concat!("../assets/", $path)))),*]
    };
}
const ASSETS: &[(&str, &str, &[u8])] = assets![
    ("common.js", "text/javascript; charset=utf-8"),
    ("dashboard.js", "text/javascript; charset=utf-8"),
    ("views/topology.js", "text/javascript; charset=utf-8"),
    ("views/traces.js", "text/javascript; charset=utf-8"),
    ("views/logs.js", "text/javascript; charset=utf-8"),
    ("views/alerts.js", "text/javascript; charset=utf-8"),
    ("views/guards.js", "text/javascript; charset=utf-8"),
    ("views/explore.js", "text/javascript; charset=utf-8"),
    ("views/drills.js", "text/javascript; charset=utf-8"),
    ("taishan.css", "text/css; charset=utf-8"),
    (
        "vendor/uplot/uPlot.iife.min.js",
        "text/javascript; charset=utf-8"
    ),
    ("vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"),
    ("vendor/uplot/LICENSE", "text/plain; charset=utf-8"),
];

/// The UI's routes.
pub fn ui_routes(state: UiState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/d/{name}", get(dashboard))
        .route("/ui/assets/{*path}", get(asset))
        .route("/ui/{view}", get(crate::views::view))
        .route("/ui/live/{name}", get(live))
        .route("/ui/data/{name}", get(data))
        .with_state(state)
}

async fn home(state: State<UiState>, session: Option<Extension<Session>>) -> Response {
    dashboard(state, Path("home".to_string()), session).await
}

async fn dashboard(
    State(s): State<UiState>,
    Path(name): Path<String>,
    session: Option<Extension<Session>>,
) -> Response {
    let Some(d) = s.catalog.get(&name) else {
        return no_dashboard(&s, &name);
    };
    let mut ctx = s.page_context(&name, session.as_deref());
    ctx.insert("dashboard", d.as_ref());
    // Inside a <script> element: no "<" may close it early.
    let spec = serde_json::to_string(d.as_ref()).unwrap_or_default();
    ctx.insert("spec_json", &spec.replace('<', "\\u003c"));
    ctx.insert("range_s", &d.range.as_secs());
    ctx.insert("refresh_s", &d.refresh.as_secs());
    s.render("dashboard.html", &ctx)
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

/// The view and refresh interval a query string asks for.
/// The view a request asks for, of the tenant its (edge-bound) `X-Scope-OrgID` names.
fn feed_key(
    name: String,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<FeedKey, String> {
    let tenant = taishan_query::tenant(headers).map_err(|e| format!("{e:?}"))?;
    let seconds = |key: &str, default: u64, max: u64| -> Result<u64, String> {
        match q.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{key}={v:?}: expected whole seconds from 0 to {max}")),
        }
    };
    let range_s = seconds("range", 3600, 31 * 86_400)?.max(60);
    let refresh = Duration::from_secs(seconds("refresh", 10, 3600)?);
    let choices: BTreeMap<String, String> = q
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("var-")?.to_string(), v.clone())))
        .collect();
    let end_s = match q.get("end").map(String::as_str) {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| format!("end={v:?}: expected a Unix time in seconds"))?,
        ),
    };
    let view = View {
        dashboard: name,
        range_s,
        choices,
        end_s,
        tenant,
    };
    Ok(FeedKey { view, refresh })
}

fn no_dashboard(s: &UiState, name: &str) -> Response {
    let known: Vec<String> = s.catalog.titles().into_iter().map(|(n, _)| n).collect();
    let message = format!("no dashboard {name:?}; there are: {}", known.join(", "));
    (StatusCode::NOT_FOUND, message).into_response()
}

/// `GET /ui/data/{name}`: the view evaluated now, as JSON.
async fn data(
    State(s): State<UiState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let key = match feed_key(name.clone(), &q, &headers) {
        Ok(key) => key,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    match s.hub.once(key.view).await {
        Ok(Some(json)) => (
            [(header::CONTENT_TYPE, "application/json")],
            json.to_string(),
        )
            .into_response(),
        Ok(None) => no_dashboard(&s, &name),
        Err(busy) => busy.into_response(),
    }
}

/// `GET /ui/live/{name}` (a WebSocket): the view's evaluation as a text message each
/// refresh interval (once when refresh is 0), shared with every other page of the same view.
/// A WebSocket rather than server-sent events: browsers hold at most six HTTP/1.1
/// connections per site, and a seventh open tab would hang behind six event streams.
async fn live(
    State(s): State<UiState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Browsers let any site's page open a WebSocket here: only the pages' own may read.
    if let Err(why) = csrf::same_origin(&headers) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let key = match feed_key(name.clone(), &q, &headers) {
        Ok(key) => key,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    if s.catalog.get(&name).is_none() {
        return no_dashboard(&s, &name);
    }
    upgrade.on_upgrade(move |socket| push(socket, s.hub, key))
}

/// Sends each evaluation of `key`'s view until the page goes away.
async fn push(mut socket: WebSocket, hub: Arc<LiveHub>, key: FeedKey) {
    let text = |json: &str| Message::Text(json.into());
    if key.refresh.is_zero() {
        if let Ok(Some(json)) = hub.once(key.view).await {
            let _ = socket.send(text(&json)).await;
        }
        // Held open (a closed socket would make the page reconnect) until the page leaves.
        while let Some(Ok(_)) = socket.recv().await {}
        return;
    }
    let Some(mut rx) = hub.subscribe(key) else {
        return;
    };
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    break;
                }
                let json = rx.borrow_and_update().clone();
                if socket.send(text(&json)).await.is_err() {
                    break;
                }
            }
            // The page's messages are not read for anything but its going away.
            incoming = socket.recv() => {
                if !matches!(incoming, Some(Ok(_))) {
                    break;
                }
            }
        }
    }
}
