//! The web config against real clients: Debian's Prometheus 2.42 remote-writing to Taishan
//! with basic auth and with a bearer token (each landing in its credential's tenant), the
//! same `web.yml` given to Prometheus and to Taishan accepting and refusing the same
//! credentials, and a non-loopback address without credentials refused at start.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};
use support::{client, wait_for, Prometheus, Taishan};

const TOKEN: &str = "bank-b-writer-token";

fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// Users and a token: a writer per tenant and a viewer of bank-a only.
fn taishan_web_yml() -> String {
    let digest = Sha256::digest(TOKEN.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "basic_auth_users:\n  writer-a: {}\n  viewer-a: {}\n  admin: {}\ntaishan:\n  users:\n    writer-a: {{roles: [writer], tenants: [bank-a]}}\n    viewer-a: {{roles: [viewer], tenants: [bank-a]}}\n  tokens:\n    - name: prometheus-bank-b\n      sha256: {hex}\n      roles: [writer]\n      tenants: [bank-b]\n",
        hash("wpass"),
        hash("vpass"),
        hash("apass")
    )
}

fn start_with_web_config(dir: &Path, web_yml: &str) -> Taishan {
    let path = dir.with_extension("web.yml");
    std::fs::write(&path, web_yml).unwrap();
    Taishan::start_with_web_config(dir, "", &path)
}

fn status(url: &str, user: Option<(&str, &str)>, tenant: Option<&str>) -> u16 {
    let mut request = client().get(url);
    if let Some((u, p)) = user {
        request = request.basic_auth(u, Some(p));
    }
    if let Some(t) = tenant {
        request = request.header("X-Scope-OrgID", t);
    }
    request.send().unwrap().status().as_u16()
}

fn series_in(t: &Taishan, tenant: &str, query: &str) -> usize {
    let answer: serde_json::Value = client()
        .get(format!("{}/api/v1/query", t.base))
        .basic_auth("admin", Some("apass"))
        .header("X-Scope-OrgID", tenant)
        .query(&[("query", query)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["data"]["result"].as_array().map_or(0, Vec::len)
}

#[test]
fn prometheus_writes_with_basic_auth_and_a_token_each_into_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_with_web_config(&dir.path().join("taishan"), &taishan_web_yml());
    let write = format!("{}/api/v1/write", t.base);
    let _prometheus = Prometheus::start(
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['PROM']\nremote_write:\n  - url: {write}\n    name: basic\n    basic_auth: {{username: writer-a, password: wpass}}\n    queue_config: {{batch_send_deadline: 1s}}\n  - url: {write}\n    name: bearer\n    authorization: {{credentials: {TOKEN}}}\n    queue_config: {{batch_send_deadline: 1s}}\n  - url: {write}\n    name: wrong\n    basic_auth: {{username: writer-a, password: nope}}\n    queue_config: {{batch_send_deadline: 1s}}\n"
        )
        .replace("PROM", "localhost:9090"),
        &[],
    );
    // Prometheus scrapes `up` of a target that may not answer: `up` is written either way.
    for tenant in ["bank-a", "bank-b"] {
        wait_for(
            &format!("samples in {tenant}"),
            Duration::from_secs(60),
            || (series_in(&t, tenant, "up{job=\"prometheus\"}") == 1).then_some(()),
        );
    }
    // Nothing was written under the tenant no credential names.
    assert_eq!(series_in(&t, "default", "up"), 0);
    // The wrong password was refused, and said so in Taishan's log.
    wait_for(
        "the refused writes in the log",
        Duration::from_secs(30),
        || t.log().contains("invalid credentials").then_some(()),
    );
    let query = format!("{}/api/v1/query?query=up", t.base);
    assert_eq!(status(&query, None, None), 401);
    assert_eq!(status(&query, Some(("viewer-a", "vpass")), None), 200);
    assert_eq!(
        status(&query, Some(("viewer-a", "vpass")), Some("bank-b")),
        403
    );
    assert_eq!(status(&query, Some(("writer-a", "wpass")), None), 403);
    let flush = format!("{}/api/v1/admin/tsdb/flush", t.base);
    let refused = client()
        .post(&flush)
        .basic_auth("viewer-a", Some("vpass"))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.text().unwrap().contains("needs the admin role"));
}

#[test]
fn the_same_web_yml_accepts_and_refuses_the_same_credentials_in_prometheus_and_taishan() {
    let web_yml = format!("basic_auth_users:\n  alice: {}\n", hash("secret"));
    let dir = tempfile::tempdir().unwrap();
    let t = start_with_web_config(&dir.path().join("taishan"), &web_yml);
    let web_path = dir.path().join("prometheus-web.yml");
    std::fs::write(&web_path, &web_yml).unwrap();
    let prometheus = Prometheus::start_behind(
        "global:\n  scrape_interval: 15s\n",
        &[&format!("--web.config.file={}", web_path.display())],
        ("alice", "secret"),
    );
    let cases: [Option<(&str, &str)>; 4] = [
        None,
        Some(("alice", "secret")),
        Some(("alice", "wrong")),
        Some(("bob", "secret")),
    ];
    for user in cases {
        let theirs = status(
            &format!("{}/api/v1/query?query=1", prometheus.base),
            user,
            None,
        );
        let ours = status(&format!("{}/api/v1/query?query=1", t.base), user, None);
        assert_eq!(ours, theirs, "{user:?}");
    }
}

#[test]
fn a_non_loopback_address_without_credentials_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args([
            "up",
            "--no-demo",
            "--http-listen",
            "0.0.0.0:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("TAISHAN_WEB_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("refusing to listen on 0.0.0.0:0 without credentials")
            && said.contains("--insecure-listen"),
        "{said}"
    );
}

#[test]
fn what_taishan_writes_is_its_operators_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Created open to everyone beforehand: Taishan closes it.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = Taishan::start(&data, "");
    let now = 1_700_000_000_000;
    let (status, body) = t.remote_write(None, &[(vec![("__name__", "m")], vec![(now, 1.0)])]);
    assert_eq!(status, 204, "{body}");
    for path in ["/api/v1/admin/tsdb/flush", "/api/v1/admin/tsdb/snapshot"] {
        let _ = client().post(format!("{}{path}", t.base)).send();
    }
    let mut open = Vec::new();
    let mut seen = 0;
    let mut stack = vec![data.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).unwrap();
        seen += 1;
        if meta.permissions().mode() & 0o077 != 0 {
            open.push(format!(
                "{} {:o}",
                p.display(),
                meta.permissions().mode() & 0o777
            ));
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        }
    }
    assert!(seen > 5, "only {seen} entries under the data directory");
    assert!(open.is_empty(), "open to others: {open:#?}");
}

/// The OTLP tenant attribute may only name one of the credential's tenants: the
/// OpenTelemetry Python SDK, over HTTP and gRPC, as writer-a (bank-a only).
#[test]
fn the_otlp_tenant_attribute_names_only_the_credentials_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taishan.web.yml");
    std::fs::write(&path, taishan_web_yml()).unwrap();
    let t = Taishan::start_with_web_config(
        &dir.path().join("taishan"),
        "ingest:\n  otlp_tenant_attribute: tenant.id\n",
        &path,
    );
    let writer = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "writer-a:wpass")
    );
    let grpc = format!("http://{}", t.otlp_grpc);
    for (protocol, endpoint) in [("http", t.otlp_http.as_str()), ("grpc", grpc.as_str())] {
        let export = |tenant: &str, service: &str| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otel/export_as.py");
            Command::new(support::otel_python())
                .arg(script)
                .args([protocol, endpoint, &writer, tenant, service])
                .status()
                .unwrap()
                .code()
        };
        assert_eq!(
            export("bank-a", &format!("own-{protocol}")),
            Some(0),
            "{protocol}"
        );
        assert_eq!(
            export("bank-b", &format!("other-{protocol}")),
            Some(3),
            "{protocol}"
        );
    }
    let services = |tenant: &str| {
        let answer: serde_json::Value = client()
            .get(format!("{}/api/services", t.base))
            .basic_auth("admin", Some("apass"))
            .header("X-Scope-OrgID", tenant)
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer.to_string()
    };
    wait_for("bank-a's spans", Duration::from_secs(20), || {
        let s = services("bank-a");
        (s.contains("own-http") && s.contains("own-grpc")).then_some(())
    });
    let b = services("bank-b");
    assert!(!b.contains("other-"), "bank-b got {b}");
    assert!(t.log().contains("may not write"), "the refusal is logged");
}

/// The admin and lifecycle APIs follow their switches: off, even an admin gets 403 naming
/// the flag; on (the loopback default), the same request is served.
#[test]
fn the_admin_and_lifecycle_apis_follow_their_switches() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, taishan_web_yml()).unwrap();
    let start = |name: &str, switches: &str| {
        let config = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &config,
            format!(
                "server:\n  otlp_grpc_listen: 127.0.0.1:0\n  otlp_http_listen: 127.0.0.1:0\n  web_config: {}\n{switches}scrape:\n  self_scrape: false\n",
                web.display()
            ),
        )
        .unwrap();
        Taishan::start_with_config(&dir.path().join(name), &config)
    };
    let post = |t: &Taishan, path: &str| {
        let r = client()
            .post(format!("{}{path}", t.base))
            .basic_auth("admin", Some("apass"))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let off = start(
        "off",
        "  enable_admin_api: false\n  enable_lifecycle: false\n",
    );
    let (status, why) = post(&off, "/api/v1/admin/tsdb/flush");
    assert_eq!(status, 403);
    assert!(why.contains("--enable-admin-api"), "{why}");
    let (status, why) = post(&off, "/-/reload");
    assert_eq!(status, 403);
    assert!(why.contains("--enable-lifecycle"), "{why}");
    let (status, _) = post(&off, "/alerter/-/reload");
    assert_eq!(status, 403);
    // A stranger learns nothing about the switch: 401 first.
    let stranger = client()
        .post(format!("{}/-/reload", off.base))
        .send()
        .unwrap();
    assert_eq!(stranger.status().as_u16(), 401);

    let on = start("on", "");
    assert_eq!(post(&on, "/api/v1/admin/tsdb/flush").0, 200);
    assert_eq!(post(&on, "/-/reload").0, 200);
}

/// Prometheus 2.42's alerting posts to 9093 with its basic-auth credential; without one,
/// or with a viewer's, its alerts are refused.
#[test]
fn prometheus_alerts_reach_the_alerter_with_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_with_web_config(&dir.path().join("taishan"), &taishan_web_yml());
    let rules = dir.path().join("always.rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: always\n    interval: 1s\n    rules:\n      - alert: PaymentsFailing\n        expr: vector(1)\n      - alert: LedgerLagging\n        expr: vector(1)\n",
    )
    .unwrap();
    let host = t.alerter.trim_start_matches("http://").to_string();
    let alertmanager = |user: &str, password: &str| {
        format!("    - static_configs: [{{targets: ['{host}']}}]\n      basic_auth: {{username: {user}, password: {password}}}\n")
    };
    let _prom = Prometheus::start(
        &format!(
            "global:\n  evaluation_interval: 1s\nrule_files: [{}]\nalerting:\n  alertmanagers:\n{}{}",
            rules.display(),
            alertmanager("writer-a", "wpass"),
            alertmanager("viewer-a", "vpass"),
        ),
        &["--rules.alert.resend-delay=1s"],
    );
    wait_for(
        "Prometheus's alerts at the alerter",
        Duration::from_secs(60),
        || {
            let alerts: serde_json::Value = client()
                .get(format!("{}/api/v2/alerts", t.alerter))
                .basic_auth("admin", Some("apass"))
                .send()
                .ok()?
                .json()
                .ok()?;
            (alerts.as_array()?.len() == 2).then_some(())
        },
    );
    // The viewer's posts were refused, and said so in Taishan's log.
    wait_for(
        "the viewer's refused posts",
        Duration::from_secs(30),
        || t.log().contains("needs the writer role").then_some(()),
    );
}

/// Dashboards show the viewer's tenant: what bank-a wrote is on viewer-a's system view and
/// not on the default tenant's.
#[test]
fn dashboards_show_the_viewers_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_with_web_config(&dir.path().join("taishan"), &taishan_web_yml());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let series = support::encode_remote_write(&[(
        vec![
            ("__name__", "traces_span_metrics_calls_total"),
            ("span_kind", "SPAN_KIND_SERVER"),
            ("service_name", "only-in-bank-a"),
        ],
        vec![(now - 30_000, 1.0), (now - 15_000, 20.0), (now, 40.0)],
    )]);
    let written = client()
        .post(format!("{}/api/v1/write", t.base))
        .basic_auth("writer-a", Some("wpass"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .body(series)
        .send()
        .unwrap();
    assert_eq!(written.status().as_u16(), 204);
    let view = |user: &str, password: &str| {
        client()
            .get(format!("{}/ui/data/system?range=300", t.base))
            .basic_auth(user, Some(password))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let bank_a = view("viewer-a", "vpass");
    assert!(bank_a.contains("only-in-bank-a"), "{bank_a}");
    let default = view("admin", "apass");
    assert!(!default.contains("only-in-bank-a"), "{default}");
}

/// `--insecure-listen` without credentials: every page says so at its top.
#[test]
fn pages_warn_when_served_without_credentials_by_choice() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = dir.path().join("taishan.yaml");
    std::fs::write(
        &config,
        "server:\n  otlp_grpc_listen: 127.0.0.1:0\n  otlp_http_listen: 127.0.0.1:0\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(["up", "--no-demo", "--insecure-listen", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--http-listen", &format!("127.0.0.1:{port}")])
        .args(["--alerter-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let page = wait_for("the home page", Duration::from_secs(60), || {
        let r = client()
            .get(format!("http://127.0.0.1:{port}/d/home"))
            .send()
            .ok()?;
        r.status().is_success().then(|| r.text().ok()).flatten()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        page.contains("Served without credentials (--insecure-listen)"),
        "{page}"
    );
}

/// An app following the guard control plane sends its writer credential: with it, its
/// guards report and show in the plane; a follower without one is refused and shows nowhere.
#[test]
fn a_guard_follower_reports_with_its_writer_credential() {
    use std::sync::Arc;
    use taishan_guard::{BreakerConfig, Guards, LogObserver};
    let dir = tempfile::tempdir().unwrap();
    let t = start_with_web_config(&dir.path().join("taishan"), &taishan_web_yml());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let follower = |service: &str, authorization: Option<String>| {
        let clock = Arc::new(taishan_core::SystemClock);
        let guards = Arc::new(Guards::new(Arc::new(LogObserver), clock));
        guards.breaker("upstream", BreakerConfig::default());
        let _entered = runtime.enter();
        taishan_guard_control::follow_remote(
            &t.base,
            authorization.map(taishan_core::Secret::new),
            service,
            guards,
            cancel.clone(),
        );
    };
    follower("with-token", Some(format!("Bearer {TOKEN}")));
    follower("without", None);
    let guards = || {
        client()
            .get(format!("{}/api/v1/guards", t.base))
            .basic_auth("admin", Some("apass"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    wait_for("the follower's report", Duration::from_secs(20), || {
        guards().contains("with-token").then_some(())
    });
    assert!(!guards().contains("without"), "{}", guards());
    assert!(
        t.log().contains("/api/v1/guards/report"),
        "the refused report is logged"
    );
    cancel.cancel();
}
