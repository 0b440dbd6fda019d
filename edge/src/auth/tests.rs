use super::*;
use crate::webconfig::WebConfig;
use crate::{Edge, ListenerKind};
use axum::body::Body;
use axum::http::Request;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use taishan_core::SystemClock;
use tower::ServiceExt;

/// `secret`, hashed at bcrypt's lowest cost so the test is quick.
fn config() -> WebConfig {
    let hash = bcrypt::hash("secret", 4).unwrap();
    let text = format!(
        "basic_auth_users:\n  alice: {hash}\n  root: {hash}\ntaishan:\n  users:\n    alice: {{roles: [viewer, operator], tenants: [bank-a]}}\n  tokens:\n    - name: prom\n      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n      roles: [writer]\n      tenants: [bank-b]\n"
    );
    WebConfig::parse("web.yml", &text, Default::default()).unwrap()
}

fn app(edge: &Edge) -> Router {
    let echo_tenant = |r: Request<Body>| async move {
        let who = r
            .extensions()
            .get::<Identity>()
            .map(|i| i.name.to_string())
            .unwrap_or_default();
        let tenant = r
            .headers()
            .get(TENANT_HEADER)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        format!("{who}@{tenant}")
    };
    let routes = Router::new()
        .route("/api/v1/query", get(echo_tenant))
        .route("/api/v1/guards/{service}/{guard}", post(echo_tenant))
        .route("/api/v1/write", post(echo_tenant))
        .route("/-/healthy", get(|| async { "OK" }))
        .route("/undeclared", get(|| async { "oops" }));
    edge.wrap(ListenerKind::Api, routes)
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
) -> (StatusCode, String, Option<String>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:7070");
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        challenge,
    )
}

fn basic(user: &str, password: &str) -> (&'static str, String) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    ("authorization", format!("Basic {encoded}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_and_tenants_decide_before_any_route_runs() {
    let authority = Authority::new(Some(Credentials::new(&config())), Arc::new(SystemClock));
    let edge = Edge::new(authority, crate::BrowserPolicy::new(&[], None));
    let app = app(&edge);
    // No credential: 401 with a challenge; a public route answers.
    let (status, _, challenge) = call(&app, "GET", "/api/v1/query", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().starts_with("Basic realm="));
    assert_eq!(call(&app, "GET", "/-/healthy", &[]).await.0, StatusCode::OK);
    // A wrong password, an unknown token, a malformed header: 401.
    for h in [
        basic("alice", "nope"),
        basic("mallory", "secret"),
        ("authorization", "Bearer nope".into()),
        ("authorization", "Digest x".into()),
    ] {
        assert_eq!(
            call(&app, "GET", "/api/v1/query", &[h]).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Alice: viewer and operator on bank-a, which requests naming no tenant act on.
    let alice = basic("alice", "secret");
    assert_eq!(
        call(&app, "GET", "/api/v1/query", std::slice::from_ref(&alice))
            .await
            .1,
        "alice@bank-a"
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/v1/guards/payment/bank-a",
            std::slice::from_ref(&alice)
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, why, _) = call(&app, "POST", "/api/v1/write", std::slice::from_ref(&alice)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(why.contains("needs the writer role"), "{why}");
    let other = (TENANT_HEADER, "bank-b".to_string());
    let (status, why, _) = call(
        &app,
        "GET",
        "/api/v1/query",
        &[alice.clone(), other.clone()],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(why.contains("may not act on tenant bank-b"), "{why}");
    // The token "test": a writer on bank-b only.
    let token = ("authorization", "Bearer test".to_string());
    assert_eq!(
        call(&app, "POST", "/api/v1/write", std::slice::from_ref(&token))
            .await
            .1,
        "prom@bank-b"
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/query", &[token]).await.0,
        StatusCode::FORBIDDEN
    );
    // A basic-auth user with no Taishan entry may do everything, on any tenant.
    let root = basic("root", "secret");
    assert_eq!(
        call(&app, "POST", "/api/v1/write", &[root.clone(), other])
            .await
            .1,
        "root@bank-b"
    );
    // A route missing from the role table is refused even to root.
    let (status, why, _) = call(&app, "GET", "/undeclared", &[root]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(why.contains("no declared role"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_web_config_everyone_is_anonymous_and_a_reload_turns_checks_on() {
    let edge = Edge::default();
    let app = app(&edge);
    assert_eq!(
        call(&app, "GET", "/api/v1/query", &[]).await.1,
        "anonymous@default"
    );
    edge.authority().replace(Some(Credentials::new(&config())));
    assert_eq!(
        call(&app, "GET", "/api/v1/query", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    edge.authority().replace(None);
    assert_eq!(
        call(&app, "GET", "/api/v1/query", &[]).await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_password_is_not_checked_again_but_a_changed_one_is() {
    let credentials = Credentials::new(&config());
    let header = |p: &str| basic("alice", p).1;
    let first = credentials
        .present(Some(header("secret").as_bytes()))
        .unwrap();
    let Presented::Password(check) = first else {
        panic!("first use must be checked")
    };
    credentials.verify(check).unwrap();
    assert!(matches!(
        credentials
            .present(Some(header("secret").as_bytes()))
            .unwrap(),
        Presented::Known(_)
    ));
    assert!(matches!(
        credentials
            .present(Some(header("other").as_bytes()))
            .unwrap(),
        Presented::Password(_)
    ));
    assert_eq!(
        credentials.login("alice", "other").unwrap_err(),
        AuthError::Invalid
    );
}
