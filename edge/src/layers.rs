//! The layers each listener gets, chosen by what the listener is.

use axum::Router;

use crate::csrf::{self, CsrfGuard};

/// Which of Taishan's listeners a router is served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// The API address (7070): pages, query, rules, guards, chaos, the alerter under
    /// `/alerter`, ingest over HTTP.
    Api,
    /// The alerter's Alertmanager API (9093).
    Alerter,
    /// OTLP over HTTP (4318).
    OtlpHttp,
}

/// The layers of one process: the state they share (the CSRF secret the pages' tokens are
/// signed with) and which listener gets which.
#[derive(Clone)]
pub struct Edge {
    csrf: CsrfGuard,
}

impl Default for Edge {
    fn default() -> Self {
        Self::new()
    }
}

impl Edge {
    /// The layers with a fresh CSRF secret (tokens of a previous run are refused).
    pub fn new() -> Self {
        Self {
            csrf: CsrfGuard::new(),
        }
    }

    /// The guard whose token the pages carry.
    pub fn csrf(&self) -> CsrfGuard {
        self.csrf.clone()
    }

    /// `router` with the layers its listener gets.
    pub fn wrap(&self, listener: ListenerKind, router: Router) -> Router {
        match listener {
            // Every state-changing request, the pages' and the APIs', is checked for
            // forgery: a browser reaches this address.
            ListenerKind::Api => router.layer(axum::middleware::from_fn_with_state(
                self.csrf.clone(),
                csrf::check,
            )),
            // Reached by programs (Prometheus, amtool, SDKs); the pages reach the alerter
            // through the API address.
            ListenerKind::Alerter | ListenerKind::OtlpHttp => router,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use tower::ServiceExt;

    async fn status(edge: &Edge, listener: ListenerKind, origin: &str) -> StatusCode {
        let router = edge.wrap(listener, Router::new().route("/x", post(|| async { "ok" })));
        let request = Request::post("/x")
            .header("host", "127.0.0.1:7070")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap();
        router.oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn the_api_address_refuses_forged_posts() {
        let edge = Edge::new();
        let forged = status(&edge, ListenerKind::Api, "https://evil.example").await;
        assert_eq!(forged, StatusCode::FORBIDDEN);
        // Same origin but no token: a browser's request without the pages' token.
        let tokenless = status(&edge, ListenerKind::Api, "http://127.0.0.1:7070").await;
        assert_eq!(tokenless, StatusCode::FORBIDDEN);
        let otlp = status(&edge, ListenerKind::OtlpHttp, "https://evil.example").await;
        assert_eq!(otlp, StatusCode::OK);
    }
}
