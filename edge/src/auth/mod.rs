//! Authentication and roles, before any route runs.
//!
//! The contract: every request on every listener passes [`admit`]. It finds what the
//! route needs in the role table ([`routes`]), authenticates the caller from the web
//! config's users and tokens ([`credentials`]) unless the route is public, refuses a
//! missing or wrong credential with 401 (`WWW-Authenticate`) and a wrong role or tenant
//! with 403, binds the request's tenant to the credential (`X-Scope-OrgID` may only
//! choose among the credential's tenants; a request naming none acts on the one implied),
//! and leaves the [`Identity`] in the request's extensions for the parts (the `who` of
//! the audit trail). Without a web config every caller is [`Identity::anonymous`]: the
//! loopback default, where the role table still refuses routes it does not know.

pub mod credentials;
pub mod login;
mod recorded;
pub mod routes;
pub mod sessions;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::RwLock;
use taishan_core::{Clock, Identity, Role, Session, TenantId, TENANT_HEADER};
use tokio::sync::Semaphore;

use crate::audit::{self, AuditLog};
use crate::ListenerKind;
use credentials::{AuthError, Credentials, Presented};
use routes::Need;
use sessions::Sessions;

/// Password checks (bcrypt) running at once; more wait for none and get 429, so a flood
/// of wrong passwords costs the process at most these cores.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

/// The realm browsers show when asking for a password.
const REALM: &str = "Basic realm=\"taishan\", charset=\"UTF-8\"";

/// The credentials in force (none: authentication off), swapped whole on reload, and the
/// process's own token: what the clients it runs itself (the demo's exporters) send.
#[derive(Clone)]
pub struct Authority {
    switches: routes::Switches,
    current: Arc<RwLock<Option<Arc<Credentials>>>>,
    password_checks: Arc<Semaphore>,
    own_token: Arc<str>,
    sessions: Sessions,
}

impl Authority {
    /// With `credentials` in force (`None`: every caller may do everything); login
    /// sessions end by `clock`.
    pub fn new(credentials: Option<Credentials>, clock: Arc<dyn Clock>) -> Self {
        let own_token = taishan_core::signer::encode_hex(&rand::random::<[u8; 32]>());
        let authority = Self {
            switches: routes::Switches::ON,
            current: Arc::new(RwLock::new(None)),
            password_checks: Arc::new(Semaphore::new(CONCURRENT_PASSWORD_CHECKS)),
            own_token: Arc::from(own_token),
            sessions: Sessions::new(clock),
        };
        authority.replace(credentials);
        authority
    }

    /// Routes behind a switch answer 403 while it is off (every one is on by default).
    pub fn with_switches(mut self, switches: routes::Switches) -> Self {
        self.switches = switches;
        self
    }

    /// Login cookies marked `Secure`, for listeners serving TLS.
    pub fn served_over_tls(mut self) -> Self {
        self.sessions = self.sessions.served_over_tls();
        self
    }

    /// Puts `credentials` in force for every request from now on.
    pub fn replace(&self, credentials: Option<Credentials>) {
        let own = Identity {
            name: Arc::from("taishan"),
            ..Identity::anonymous()
        };
        let credentials = credentials.map(|c| Arc::new(c.with_token(&self.own_token, own)));
        *self.current.write() = credentials;
    }

    /// The `Authorization` value of this process's own clients (random at every start,
    /// never written anywhere).
    pub fn own_authorization(&self) -> String {
        format!("Bearer {}", self.own_token)
    }

    /// Whether callers must authenticate.
    pub fn required(&self) -> bool {
        self.current.read().is_some()
    }

    /// The credentials in force.
    pub fn credentials(&self) -> Option<Arc<Credentials>> {
        self.current.read().clone()
    }

    /// Who sent `authorization`.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Identity, Refusal> {
        let Some(credentials) = self.credentials() else {
            return Ok(Identity::anonymous());
        };
        match credentials
            .present(authorization)
            .map_err(Refusal::Unauthenticated)?
        {
            Presented::Known(identity) => Ok(identity),
            Presented::Password(check) => {
                let Ok(_turn) = self.password_checks.clone().try_acquire_owned() else {
                    return Err(Refusal::Busy);
                };
                tokio::task::spawn_blocking(move || credentials.verify(check))
                    .await
                    .unwrap_or(Err(AuthError::Invalid))
                    .map_err(Refusal::Unauthenticated)
            }
        }
    }

    /// The login sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Who sent `request`, and its session: a login's cookie when it sends no
    /// `Authorization`, else the credential it sends.
    async fn caller(&self, headers: &HeaderMap) -> Result<(Identity, Session), Refusal> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        let credentials = self.credentials();
        if let (None, Some(credentials)) = (&authorization, &credentials) {
            let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
            if let Some(id) = cookie.and_then(sessions::from_cookie) {
                let identity = self
                    .sessions
                    .user(id)
                    .and_then(|user| credentials.user(&user))
                    .ok_or(Refusal::Unauthenticated(AuthError::Expired))?;
                return Ok((identity, Session(Arc::from(id))));
            }
        }
        let identity = self.authenticate(authorization.as_deref()).await?;
        let session = match credentials {
            None => Session::anonymous(),
            Some(_) => Session(Arc::from(format!("user:{}", identity.name))),
        };
        Ok((identity, session))
    }
}

/// Why a request is refused at the edge.
#[derive(Debug)]
pub enum Refusal {
    /// 401.
    Unauthenticated(AuthError),
    /// 403, with the reason.
    Forbidden(String),
    /// 429: too many password checks at once.
    Busy,
    /// 403: a route the role table does not know (a bug: fail closed).
    Undeclared(String),
}

/// The state of [`admit`] on one listener.
#[derive(Clone)]
pub struct Admission {
    /// Which listener.
    pub listener: ListenerKind,
    /// The credentials in force.
    pub authority: Authority,
    /// Where operators' and admins' state changes are recorded.
    pub audit: Option<AuditLog>,
}

/// The middleware; see the module's contract.
pub async fn admit(
    State(admission): State<Admission>,
    mut request: Request,
    next: Next,
) -> Response {
    let audited = admission
        .audit
        .as_ref()
        .zip(audited_kind(&admission, &request));
    match admitted(&admission, &mut request).await {
        Ok(()) => match audited {
            Some((log, kind)) => recorded::run(log, kind, request, next).await,
            None => next.run(request).await,
        },
        Err(refusal) => {
            let (status, reason) = refusal.status_and_reason();
            let path = request.uri().path();
            tracing::info!(listener = ?admission.listener, method = %request.method(), path, status = status.as_u16(), %reason, "request refused at the edge");
            if let Some((log, _)) = audited {
                recorded::refused(log, &request, status, &reason);
            }
            if status == StatusCode::UNAUTHORIZED && wants_a_page(admission.listener, &request) {
                return login::redirect_to_login(request.uri());
            }
            refusal.into_response_for(admission.listener)
        }
    }
}

/// The audit kind of a state change that needs an operator or an admin.
fn audited_kind(admission: &Admission, request: &Request) -> Option<&'static str> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return None;
    }
    let path = request.extensions().get::<MatchedPath>()?.as_str();
    let access = routes::access(admission.listener, path)?;
    match access.need(request.method()) {
        Need::Role(Role::Operator | Role::Admin) => Some(audit::kind_of(path)),
        _ => None,
    }
}

async fn admitted(admission: &Admission, request: &mut Request) -> Result<(), Refusal> {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let access = match matched {
        Some(path) => match routes::access(admission.listener, &path) {
            Some(access) => Some(access),
            None => return Err(Refusal::Undeclared(path)),
        },
        // No route: authenticate anyway, so a 404 tells a stranger nothing.
        None => None,
    };
    let need = access.map(|a| a.need(request.method()));
    if need == Some(Need::Public) {
        return Ok(());
    }
    let (identity, session) = admission.authority.caller(request.headers()).await?;
    let switched_off = access
        .and_then(|a| a.switch())
        .and_then(|s| admission.authority.switches.refuses(s));
    if let Some(why) = switched_off {
        return Err(Refusal::Forbidden(why.to_string()));
    }
    if let Some(Need::Role(role)) = need {
        if !identity.may(role) {
            return Err(Refusal::Forbidden(format!(
                "{} may not do this: it needs the {role} role (has: {})",
                identity.name,
                identity.roles.names().join(", ")
            )));
        }
    }
    bind_tenant(&identity, request)?;
    request.extensions_mut().insert(identity);
    request.extensions_mut().insert(session);
    Ok(())
}

/// A browser asking for a page (not a script's request): sent to the login page instead
/// of getting a bare 401.
fn wants_a_page(listener: ListenerKind, request: &Request) -> bool {
    let accepts_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    listener == ListenerKind::Api && request.method() == axum::http::Method::GET && accepts_html
}

/// `X-Scope-OrgID` must be one of the identity's tenants; without one, the implied tenant
/// is written in, so every part downstream reads the bound tenant from the usual header.
fn bind_tenant(identity: &Identity, request: &mut Request) -> Result<(), Refusal> {
    let named = request.headers().get(TENANT_HEADER).map(|v| v.as_bytes());
    match named {
        Some(raw) => {
            // A malformed id is the part's to refuse with its own message; only a valid
            // one can name another tenant's data.
            if let Ok(tenant) = TenantId::from_header(Some(raw)) {
                if !identity.tenants.include(&tenant) {
                    return Err(Refusal::Forbidden(format!(
                        "{} may not act on tenant {tenant}",
                        identity.name
                    )));
                }
            }
        }
        None => {
            let implied = identity.tenants.implied();
            if let Ok(value) = HeaderValue::from_str(implied.as_str()) {
                request.headers_mut().insert(TENANT_HEADER, value);
            }
        }
    }
    Ok(())
}

impl Refusal {
    fn status_and_reason(&self) -> (StatusCode, String) {
        match self {
            Refusal::Unauthenticated(e) => (StatusCode::UNAUTHORIZED, e.to_string()),
            Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, why.clone()),
            Refusal::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many password checks at once; retry shortly (a bearer token avoids them)"
                    .to_string(),
            ),
            Refusal::Undeclared(path) => {
                tracing::error!(path, "route has no role in the edge's role table; refused");
                (
                    StatusCode::FORBIDDEN,
                    format!("route {path} has no declared role"),
                )
            }
        }
    }

    fn into_response_for(self, listener: ListenerKind) -> Response {
        let (status, message) = self.status_and_reason();
        if listener == ListenerKind::OtlpGrpc {
            let status = match status {
                StatusCode::UNAUTHORIZED => tonic_status::UNAUTHENTICATED,
                StatusCode::TOO_MANY_REQUESTS => tonic_status::UNAVAILABLE,
                _ => tonic_status::PERMISSION_DENIED,
            };
            return grpc_error(status, &message);
        }
        let mut response = (status, message).into_response();
        match status {
            StatusCode::UNAUTHORIZED => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// gRPC status codes the edge answers with.
mod tonic_status {
    pub const PERMISSION_DENIED: u8 = 7;
    pub const UNAVAILABLE: u8 = 14;
    pub const UNAUTHENTICATED: u8 = 16;
}

/// A gRPC error as a trailers-only response: HTTP 200 with `grpc-status`.
fn grpc_error(code: u8, message: &str) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from(u16::from(code)));
    let encoded: String = message
        .bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'%' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&encoded) {
        headers.insert("grpc-message", v);
    }
    response
}

#[cfg(test)]
mod tests;
