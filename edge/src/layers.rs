//! The layers each listener gets, chosen by what the listener is.

use axum::Router;

use std::sync::Arc;

use taishan_core::SystemClock;

use crate::audit::{self, AuditLog};
use crate::auth::{self, login, Admission, Authority};
use crate::browser::{self, BrowserPolicy};
use crate::csrf::{self, CsrfGuard};
use crate::tls::ServerTls;

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
    /// OTLP over gRPC (4317).
    OtlpGrpc,
}

/// The layers of one process: the state they share (the credentials in force, the CSRF
/// secret the pages' tokens are signed with) and which listener gets which.
#[derive(Clone)]
pub struct Edge {
    csrf: CsrfGuard,
    authority: Authority,
    browser: BrowserPolicy,
    audit: Option<AuditLog>,
    tls: Option<ServerTls>,
}

impl Default for Edge {
    /// Authentication off, any host, the default headers.
    fn default() -> Self {
        let authority = Authority::new(None, Arc::new(SystemClock));
        Self::new(authority, BrowserPolicy::new(&[], None))
    }
}

impl Edge {
    /// The layers checking callers against `authority` and guarding browsers by `browser`,
    /// with a fresh CSRF secret (tokens of a previous run are refused).
    pub fn new(authority: Authority, browser: BrowserPolicy) -> Self {
        Self {
            csrf: CsrfGuard::new(),
            authority,
            browser,
            audit: None,
            tls: None,
        }
    }

    /// Every listener served behind `tls`.
    pub fn with_tls(mut self, tls: Option<ServerTls>) -> Self {
        self.tls = tls;
        self
    }

    /// The TLS every listener serves, if any.
    pub fn tls(&self) -> Option<&ServerTls> {
        self.tls.as_ref()
    }

    /// `https` when the listeners serve TLS, else `http`: what URLs of them start with.
    pub fn scheme(&self) -> &'static str {
        match self.tls {
            Some(_) => "https",
            None => "http",
        }
    }

    /// Recording operators' and admins' state changes, logins and refusals in `log`.
    pub fn with_audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// The credentials in force (replaced on reload).
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The guard whose token the pages carry.
    pub fn csrf(&self) -> CsrfGuard {
        self.csrf.clone()
    }

    /// `router` with the layers its listener gets: the browser policy (hosts, headers) on
    /// every HTTP listener, outermost; then authentication and roles on every one, so
    /// nothing runs for a stranger; then the listener's own.
    pub fn wrap(&self, listener: ListenerKind, router: Router) -> Router {
        let admission = Admission {
            listener,
            authority: self.authority.clone(),
            audit: self.audit.clone(),
        };
        let router = self
            .wrap_inner(listener, router)
            .layer(axum::middleware::from_fn_with_state(admission, auth::admit));
        match listener {
            ListenerKind::OtlpGrpc => router,
            _ => router.layer(axum::middleware::from_fn_with_state(
                self.browser.clone(),
                browser::guard,
            )),
        }
    }

    fn wrap_inner(&self, listener: ListenerKind, router: Router) -> Router {
        match listener {
            // Every state-changing request, the pages' and the APIs', is checked for
            // forgery: a browser reaches this address. The login page lives here.
            // The audit trail's reading is served here too.
            ListenerKind::Api => router
                .merge(login::routes(self.authority.clone(), self.audit.clone()))
                .merge(self.audit.clone().map(audit::routes).unwrap_or_default())
                .layer(axum::middleware::from_fn_with_state(
                    self.csrf.clone(),
                    csrf::check,
                )),
            // Reached by programs (Prometheus, amtool); a browser's page of another site
            // could still post to it, so it takes only same-origin JSON.
            ListenerKind::Alerter => router.layer(axum::middleware::from_fn(browser::alerter_api)),
            ListenerKind::OtlpHttp | ListenerKind::OtlpGrpc => router,
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
        // A route each listener's role table knows.
        let path = match listener {
            ListenerKind::OtlpHttp => "/v1/traces",
            _ => "/api/v1/write",
        };
        let router = edge.wrap(listener, Router::new().route(path, post(|| async { "ok" })));
        let request = Request::post(path)
            .header("host", "127.0.0.1:7070")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap();
        router.oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn the_api_address_refuses_forged_posts() {
        let edge = Edge::default();
        let forged = status(&edge, ListenerKind::Api, "https://evil.example").await;
        assert_eq!(forged, StatusCode::FORBIDDEN);
        // Same origin but no token: a browser's request without the pages' token.
        let tokenless = status(&edge, ListenerKind::Api, "http://127.0.0.1:7070").await;
        assert_eq!(tokenless, StatusCode::FORBIDDEN);
        let otlp = status(&edge, ListenerKind::OtlpHttp, "https://evil.example").await;
        assert_eq!(otlp, StatusCode::OK);
    }
}
