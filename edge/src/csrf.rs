//! Cross-site request forgery protection for every state-changing request on the API address.
//!
//! A page of another site open in the operator's browser can make it send a form post to
//! 127.0.0.1:7070. Two checks refuse that, before any handler runs:
//! - **same origin**: a POST, PUT, PATCH or DELETE whose `Origin` (or, without one, `Referer`)
//!   names another origin than the `Host` it was sent to, or that the browser marks
//!   `Sec-Fetch-Site: cross-site`, gets 403;
//! - **token**: a request that comes from a browser (it carries `Origin`, `Sec-Fetch-Site` or a
//!   cookie) must carry the pages' token in `X-CSRF-Token`. The token is an HMAC of the
//!   request's session (the edge's [`taishan_core::Session`]: a login's id, or the user of
//!   a credential) under a secret made at start; where authentication is off every browser
//!   shares the session `anonymous`.
//!
//! Programs (curl, Prometheus, SDKs, amtool) send none of the browser headers and pass
//! unchanged: the APIs they use keep their contracts.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use taishan_core::signer::Signer;

/// The header the pages send the token in.
pub const TOKEN_HEADER: &str = "x-csrf-token";

/// Issues and checks tokens.
#[derive(Clone)]
pub struct CsrfGuard {
    signer: Signer,
}

impl CsrfGuard {
    /// A guard with a fresh random secret (tokens from a previous run are refused).
    pub fn new() -> Self {
        Self {
            signer: Signer::new(rand::random::<[u8; 32]>()),
        }
    }

    /// The token of `session`.
    pub fn token(&self, session: &str) -> String {
        self.signer.sign_hex(session.as_bytes())
    }

    fn verify(&self, session: &str, token: &str) -> bool {
        self.signer.verify_hex(session.as_bytes(), token)
    }

    /// Why `method` with `headers`, in `session`, is refused, if it is.
    pub fn refusal(&self, method: &Method, headers: &HeaderMap, session: &str) -> Option<String> {
        if let Some(why) = origin_refusal(method, headers) {
            return Some(why);
        }
        if is_safe(method) {
            return None;
        }
        let from_browser = headers.contains_key(header::ORIGIN)
            || headers.contains_key("sec-fetch-site")
            || headers.contains_key(header::COOKIE);
        if !from_browser {
            return None;
        }
        let token = headers
            .get(TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if token.is_empty() {
            return Some(
                "missing X-CSRF-Token: send the token of the page you act from (reload it)"
                    .to_string(),
            );
        }
        (!self.verify(session, token))
            .then(|| "invalid X-CSRF-Token: reload the page for a fresh one".to_string())
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Why a state change is refused for where it comes from: another origin than the `Host`
/// it was sent to, or one the browser marks cross-site. What the login form (which cannot
/// send a header) and the alerter's API get; the pages' requests also need the token.
pub fn origin_refusal(method: &Method, headers: &HeaderMap) -> Option<String> {
    if is_safe(method) {
        return None;
    }
    if let Err(why) = same_origin(headers) {
        return Some(why);
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    (fetch_site == Some("cross-site")).then(|| "cross-site request refused".to_string())
}

impl Default for CsrfGuard {
    fn default() -> Self {
        Self::new()
    }
}

/// Refuses a request whose `Origin` (or, without one, `Referer`) names another origin than
/// the `Host` it was sent to. Also what guards the pages' WebSocket, which browsers open
/// from any site's page without asking.
pub fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST).unwrap_or("");
    let source = text(header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| text(header::REFERER));
    match source {
        Some(source) if origin_host(source) != Some(host) => Err(format!(
            "cross-origin request refused: sent from {source:?} to {host:?}"
        )),
        _ => Ok(()),
    }
}

/// The session of every browser where authentication is off.
pub const SESSION: &str = "anonymous";

/// Paths a browser posts to with a plain form (no header can be added): checked for their
/// origin only.
const FORM_PATHS: [&str; 2] = ["/login", "/logout"];

/// The `host[:port]` of an origin or URL (`http://127.0.0.1:7070/x` gives `127.0.0.1:7070`).
fn origin_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// The middleware: refuses forged requests with 403 and the reason.
pub async fn check(State(guard): State<CsrfGuard>, request: Request, next: Next) -> Response {
    let session = request
        .extensions()
        .get::<taishan_core::Session>()
        .map_or(SESSION, |s| &s.0);
    let refusal = match FORM_PATHS.contains(&request.uri().path()) {
        true => origin_refusal(request.method(), request.headers()),
        false => guard.refusal(request.method(), request.headers(), session),
    };
    match refusal {
        None => next.run(request).await,
        Some(reason) => {
            tracing::warn!(method = %request.method(), path = %request.uri().path(), %reason, "request refused");
            (StatusCode::FORBIDDEN, reason).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn programs_and_reads_pass() {
        let g = CsrfGuard::new();
        assert_eq!(
            g.refusal(
                &Method::POST,
                &headers(&[("host", "127.0.0.1:7070")]),
                SESSION
            ),
            None
        );
        let foreign = headers(&[
            ("host", "127.0.0.1:7070"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(g.refusal(&Method::GET, &foreign, SESSION), None);
    }

    #[test]
    fn another_origin_is_refused_even_with_the_token() {
        let g = CsrfGuard::new();
        let token = g.token(SESSION);
        let h = headers(&[
            ("host", "127.0.0.1:7070"),
            ("origin", "https://evil.example"),
            ("x-csrf-token", &token),
        ]);
        let why = g.refusal(&Method::POST, &h, SESSION).unwrap();
        assert!(why.contains("cross-origin"), "{why}");
        let h = headers(&[
            ("host", "127.0.0.1:7070"),
            ("referer", "http://127.0.0.2:7070/d/home"),
        ]);
        assert!(g.refusal(&Method::DELETE, &h, SESSION).is_some());
    }

    #[test]
    fn a_browser_needs_the_token_of_this_run() {
        let g = CsrfGuard::new();
        let same = [
            ("host", "127.0.0.1:7070"),
            ("origin", "http://127.0.0.1:7070"),
        ];
        let why = g.refusal(&Method::POST, &headers(&same), SESSION).unwrap();
        assert!(why.contains("missing X-CSRF-Token"), "{why}");
        let other_run = CsrfGuard::new().token(SESSION);
        let with = |t: &str| {
            let mut h = headers(&same);
            h.insert(TOKEN_HEADER, t.parse().unwrap());
            h
        };
        assert!(g
            .refusal(&Method::POST, &with(&other_run), SESSION)
            .is_some());
        assert!(g.refusal(&Method::POST, &with("zz"), SESSION).is_some());
        assert_eq!(
            g.refusal(&Method::POST, &with(&g.token(SESSION)), SESSION),
            None
        );
        // Another session's token is refused.
        assert!(g
            .refusal(&Method::POST, &with(&g.token("user:bob")), SESSION)
            .is_some());
    }

    #[test]
    fn an_origin_reads_as_its_host_and_port() {
        assert_eq!(origin_host("http://127.0.0.1:7070"), Some("127.0.0.1:7070"));
        assert_eq!(origin_host("http://h:1/x?y"), Some("h:1"));
        assert_eq!(origin_host("nonsense"), None);
    }
}
