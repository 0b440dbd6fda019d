//! The login page for basic-auth users: `GET /login` (the form), `POST /login` (a session
//! cookie on success: `HttpOnly`, `SameSite=Strict`, twelve hours), `POST /logout`.
//! A browser asking for a page without a credential is sent here; scripts get a 401.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use serde::Deserialize;

use super::sessions;
use super::{AuthError, Authority};
use crate::audit::{AuditLog, AuditRecord};

/// What the login routes share.
#[derive(Clone)]
struct Login {
    authority: Authority,
    audit: Option<AuditLog>,
}

/// The routes, on the API address; logins, failed logins and logouts go to `audit`.
pub fn routes(authority: Authority, audit: Option<AuditLog>) -> Router {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
        .with_state(Login { authority, audit })
}

type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

fn record(l: &Login, who: &str, peer: &Peer, what: &str, status: StatusCode, why: &str) {
    let Some(log) = &l.audit else { return };
    log.append(
        AuditRecord {
            at_ms: log.now_ms(),
            kind: "logins".into(),
            who: who.chars().take(100).collect(),
            roles: Vec::new(),
            tenant: String::new(),
            source: peer
                .as_ref()
                .map_or("unknown".into(), |p| p.0 .0.to_string()),
            what: what.into(),
            status: status.as_u16(),
            why: String::new(),
        }
        .with_why(why),
    );
}

/// A 303 to the login page, coming back to `uri` afterwards.
pub fn redirect_to_login(uri: &Uri) -> Response {
    let back = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = format!(
        "/login?next={}",
        form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    see_other(&target)
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
struct Credentials {
    user: String,
    password: String,
    next: Option<String>,
}

async fn form(State(l): State<Login>, Query(q): Query<Next>) -> Response {
    let note = match l.authority.required() {
        true => "",
        false => "Authentication is off (no web config): every page is open on this machine.",
    };
    page(StatusCode::OK, note, q.next.as_deref())
}

async fn login(State(l): State<Login>, peer: Peer, Form(c): Form<Credentials>) -> Response {
    let authority = &l.authority;
    let Some(credentials) = authority.credentials() else {
        return see_other(safe_next(c.next.as_deref()));
    };
    let Ok(_turn) = authority.password_checks.clone().try_acquire_owned() else {
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many logins at once; try again in a second.",
            c.next.as_deref(),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let user = c.user.clone();
    let checked = tokio::task::spawn_blocking(move || credentials.login(&c.user, &c.password))
        .await
        .unwrap_or(Err(AuthError::Invalid));
    match checked {
        Ok(identity) => {
            tracing::info!(user = %identity.name, "logged in");
            record(
                &l,
                &identity.name,
                &peer,
                "POST /login",
                StatusCode::SEE_OTHER,
                "logged in",
            );
            let id = authority.sessions().open(&identity.name);
            let mut r = see_other(safe_next(c.next.as_deref()));
            let cookie = authority.sessions().cookie(&id);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(_) => {
            tracing::warn!(%user, "failed login");
            let status = StatusCode::UNAUTHORIZED;
            record(
                &l,
                &user,
                &peer,
                "POST /login",
                status,
                "wrong user name or password",
            );
            page(
                StatusCode::UNAUTHORIZED,
                "Wrong user name or password.",
                c.next.as_deref(),
            )
        }
    }
}

async fn logout(State(l): State<Login>, peer: Peer, headers: HeaderMap) -> Response {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    if let Some(id) = cookie.and_then(sessions::from_cookie) {
        if let Some(user) = l.authority.sessions().user(id) {
            record(
                &l,
                &user,
                &peer,
                "POST /logout",
                StatusCode::SEE_OTHER,
                "logged out",
            );
        }
        l.authority.sessions().close(id);
    }
    let mut r = see_other("/login");
    let expired = l.authority.sessions().expired_cookie();
    if let Ok(v) = HeaderValue::from_str(&expired) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Where to go after logging in: a path of this site, never another site (`//host`).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn page(status: StatusCode, note: &str, next: Option<&str>) -> Response {
    let note = match note {
        "" => String::new(),
        n => format!("<p class=\"login-note\" role=\"alert\">{}</p>", escape(n)),
    };
    let next = escape(safe_next(next));
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Log in · Taishan</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/ui/assets/taishan.css\">\n</head>\n<body>\n<header class=\"top\"><a class=\"brand\" href=\"/\">Taishan</a></header>\n<main class=\"login\">\n<h1>Log in</h1>\n{note}\n<form method=\"post\" action=\"/login\">\n<input type=\"hidden\" name=\"next\" value=\"{next}\">\n<label>User <input name=\"user\" autocomplete=\"username\" required autofocus></label>\n<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\n<button type=\"submit\">Log in</button>\n</form>\n</main>\n</body>\n</html>\n"
    );
    (status, Html(html)).into_response()
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login_only_a_path_of_this_site() {
        assert_eq!(safe_next(Some("/d/home?x=1")), "/d/home?x=1");
        for bad in ["//evil.example/", "https://evil.example", "/\\evil", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(escape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
    }
}
