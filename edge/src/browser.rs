//! What protects a browser's user: headers on every answer (no script but the site's own
//! files, no framing, no sniffing), a `Host` allowlist against DNS rebinding, and on the
//! alerter's API (which programs use, and which a browser's page of another site could
//! post a form to) the origin check and JSON-only bodies.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::csrf;

/// No inline script, nothing from elsewhere, no framing; inline styles stay allowed (the
/// pages set sizes in `style` attributes, which run no code).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers every answer carries, and the hosts requests may name.
#[derive(Clone)]
pub struct BrowserPolicy {
    /// Set unless the route set its own (the drill report's export is framed by the
    /// drills page, so it allows its own site as ancestor).
    defaults: Arc<Vec<(HeaderName, HeaderValue)>>,
    /// The web config's: always set.
    configured: Arc<Vec<(HeaderName, HeaderValue)>>,
    hosts: Arc<Option<Vec<String>>>,
}

impl BrowserPolicy {
    /// The defaults, overridden or added to by the web config's `headers`; requests must
    /// name one of `hosts` (lower case, no port), or any host when `None`.
    pub fn new(extra: &[(String, String)], hosts: Option<Vec<String>>) -> Self {
        let defaults = vec![
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ),
        ];
        let configured = extra
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    HeaderName::try_from(name.as_str()).ok()?,
                    HeaderValue::try_from(value.as_str()).ok()?,
                ))
            })
            .collect();
        Self {
            defaults: Arc::new(defaults),
            configured: Arc::new(configured),
            hosts: Arc::new(hosts),
        }
    }

    fn host_refusal(&self, request: &Request) -> Option<String> {
        let allowed = self.hosts.as_ref().as_ref()?;
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let name = host_name(host).to_ascii_lowercase();
        (!allowed.contains(&name)).then(|| {
            format!(
                "Host {host:?} is not served here (server.allowed_hosts: {})",
                allowed.join(", ")
            )
        })
    }
}

/// The loopback names a browser on this machine uses.
pub fn loopback_hosts() -> Vec<String> {
    ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec()
}

/// `host:port`, `[v6]:port`, `host` → the name alone.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// The middleware of every HTTP listener: the host check, then the headers on the answer.
pub async fn guard(State(policy): State<BrowserPolicy>, request: Request, next: Next) -> Response {
    if let Some(why) = policy.host_refusal(&request) {
        tracing::info!(path = %request.uri().path(), %why, "request refused");
        return (StatusCode::MISDIRECTED_REQUEST, why).into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in policy.defaults.iter() {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in policy.configured.iter() {
        headers.insert(name.clone(), value.clone());
    }
    response
}

/// The alerter's API: a state change from another origin is refused, and a body must be
/// JSON (a form from another site's page cannot send JSON without the browser asking
/// first). The on-call link's own page posts its signed form, and is let through.
pub async fn alerter_api(request: Request, next: Next) -> Response {
    if let Some(why) = csrf::origin_refusal(request.method(), request.headers()) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let signed_form = request.uri().path() == "/api/taishan/v1/link";
    if has_body && !json && !signed_form {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the alerter's API takes application/json bodies only",
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_reads_as_its_name() {
        assert_eq!(host_name("127.0.0.1:7070"), "127.0.0.1");
        assert_eq!(host_name("[::1]:7070"), "::1");
        assert_eq!(host_name("Localhost"), "Localhost");
    }
}
