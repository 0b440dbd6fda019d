//! TLS on every listener, against real clients: a CA made by the test (`openssl`), the
//! OpenTelemetry Python SDK exporting over HTTPS and gRPC with TLS and a bearer token,
//! Debian's Prometheus 2.42 remote-writing over HTTPS, the CLI with `--ca-file`, the
//! alerter's API, login cookies marked `Secure`, Taishan scraping itself over its own
//! TLS, and a key file others may read refused at start.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};
use support::pki::Pki;
use support::{otel_python, wait_for, Prometheus, Taishan};

const ADMIN_TOKEN: &str = "tls-admin-token";

/// TLS plus one admin token (its SHA-256 in the file).
fn web_yml(pki: &Pki) -> String {
    let hex: String = Sha256::digest(ADMIN_TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}taishan:\n  tokens:\n    - name: admin\n      sha256: {hex}\n      roles: [admin]\n      tenants: ['*']\n",
        pki.web_config_tls()
    )
}

fn start(dir: &std::path::Path, pki: &Pki, self_scrape: bool) -> Taishan {
    let web = dir.join("web.yml");
    std::fs::write(&web, web_yml(pki)).unwrap();
    let config = dir.join("taishan.yaml");
    let yaml = format!(
        "server:\n  otlp_grpc_listen: 127.0.0.1:0\n  otlp_http_listen: 127.0.0.1:0\n  web_config: {}\nscrape:\n  self_scrape: {self_scrape}\n  interval: 1s\n  timeout: 1s\n",
        web.display()
    );
    std::fs::write(&config, yaml).unwrap();
    Taishan::start_with_config(&dir.join("data"), &config)
}

fn query(pki: &Pki, t: &Taishan, tenant: &str, q: &str) -> Vec<serde_json::Value> {
    let answer: serde_json::Value = pki
        .client()
        .get(format!("{}/api/v1/query", t.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("X-Scope-OrgID", tenant)
        .query(&[("query", q)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn every_listener_serves_tls_and_taishan_reaches_itself_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(&dir.path().join("pki"));
    let t = start(dir.path(), &pki, true);
    assert!(t.base.starts_with("https://"), "{}", t.base);

    // A client trusting the CA, with the token, is answered; plain HTTP is not.
    let ok = pki
        .client()
        .get(format!("{}/api/v1/status/buildinfo", t.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
    let plain = t.base.replacen("https://", "http://", 1);
    let refused = support::client()
        .get(format!("{plain}/api/v1/status/buildinfo"))
        .send();
    assert!(refused.is_err() || !refused.unwrap().status().is_success());
    // A client that does not trust the CA is refused at the handshake.
    assert!(support::client()
        .get(format!("{}/-/ready", t.base))
        .send()
        .is_err());

    // The alerter's API, over TLS as well.
    let status = pki
        .client()
        .get(format!("{}/api/v2/status", t.alerter))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(status.status(), 200);

    // The self-scrape trusts exactly the certificate served, at 127.0.0.1.
    wait_for("the self-scrape over TLS", Duration::from_secs(30), || {
        let up = query(&pki, &t, "default", "up{job=\"taishan\"}");
        (up.len() == 1 && up[0]["value"][1] == "1").then_some(())
    });

    // The OpenTelemetry Python SDK: HTTPS and gRPC with TLS, trusting the CA, with a token.
    // requests lets REQUESTS_CA_BUNDLE (set on some machines) override the exporter's
    // certificate_file; without it, the CA given is the one trusted.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otel/export_secured.py");
    let out = Command::new(otel_python())
        .arg(script)
        .args([
            &t.otlp_http,
            &t.otlp_grpc,
            pki.path("ca.crt").to_str().unwrap(),
            &format!("Bearer {ADMIN_TOKEN}"),
        ])
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = String::from_utf8_lossy(&out.stdout).trim().to_string();
    wait_for("the secured trace", Duration::from_secs(20), || {
        let answer: serde_json::Value = pki
            .client()
            .get(format!("{}/api/traces/{trace}", t.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .ok()?
            .json()
            .ok()?;
        let text = answer.to_string();
        (text.contains("checkout") && text.contains("ledger")).then_some(())
    });
}

#[test]
fn prometheus_and_the_cli_trust_the_ca_and_browsers_get_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(&dir.path().join("pki"));
    let t = start(dir.path(), &pki, false);

    // Prometheus 2.42 remote-writes over HTTPS, checking the certificate against the CA.
    let _prometheus = Prometheus::start(
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\nremote_write:\n  - url: {}/api/v1/write\n    authorization: {{credentials: {ADMIN_TOKEN}}}\n    tls_config: {{ca_file: {}}}\n    queue_config: {{batch_send_deadline: 1s}}\n",
            t.base,
            pki.path("ca.crt").display()
        ),
        &[],
    );
    wait_for(
        "Prometheus's samples over TLS",
        Duration::from_secs(60),
        || (query(&pki, &t, "default", "up{job=\"prometheus\"}").len() == 1).then_some(()),
    );

    // The CLI: with --ca-file it is answered; without, it names the certificate problem.
    let cli = |ca: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_taishan"));
        c.args(["query", "--url", &t.base, "vector(7)"])
            .env("TAISHAN_TOKEN", ADMIN_TOKEN);
        if ca {
            c.arg("--ca-file").arg(pki.path("ca.crt"));
        }
        c.output().unwrap()
    };
    let trusted = cli(true);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(String::from_utf8_lossy(&trusted.stdout).contains('7'));
    let untrusted = cli(false);
    assert!(!untrusted.status.success());
    let why = String::from_utf8_lossy(&untrusted.stderr).to_lowercase();
    assert!(
        why.contains("certificate") || why.contains("error sending request"),
        "{why}"
    );

    // A login over TLS gets a cookie browsers send only over TLS.
    let users = dir.path().join("users.yml");
    let hash = bcrypt::hash("opass", 4).unwrap();
    std::fs::write(
        &users,
        format!(
            "{}basic_auth_users:\n  oncall: {hash}\n",
            pki.web_config_tls()
        ),
    )
    .unwrap();
    let mut t = t;
    t.stop();
    let web = dir.path().join("web.yml");
    std::fs::copy(&users, &web).unwrap();
    let t = t.restart();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(pki.path("ca.crt")).unwrap()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .post(format!("{}/login", t.base))
        .header("Origin", &t.base)
        .form(&[("user", "oncall"), ("password", "opass")])
        .send()
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
}

#[test]
fn a_key_file_others_may_read_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(&dir.path().join("pki"));
    std::fs::set_permissions(
        pki.path("server.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, web_yml(&pki)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(["up", "--no-demo", "--web-config"])
        .arg(&web)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--alerter-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("tls_server_config.key_file") && why.contains("chmod 600"),
        "{why}"
    );
}

#[test]
fn the_demo_services_export_to_taishan_over_its_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(&dir.path().join("pki"));
    let web = dir.path().join("web.yml");
    std::fs::write(&web, web_yml(&pki)).unwrap();
    let t = Taishan::start_demo(&dir.path().join("data"), |base| {
        format!(
            "  web_config: {}\nscrape:\n  self_scrape: false\ndemo:\n  base_port: {base}\n  metrics_interval: 1s\n  traffic:\n    rate: 5\n",
            web.display()
        )
    });
    assert!(t.otlp_http.starts_with("https://"), "{}", t.otlp_http);
    // Metrics, traces and logs of the demo's services, exported over HTTPS with the
    // process's own token, trusting exactly the certificate served.
    wait_for(
        "the demo's metrics over TLS",
        Duration::from_secs(60),
        || {
            let jobs = query(
                &pki,
                &t,
                "default",
                "count by (job) ({job=~\"taishan-demo/.+\"})",
            );
            (jobs.len() >= 3).then_some(())
        },
    );
    wait_for("the demo's logs over TLS", Duration::from_secs(30), || {
        let logs: serde_json::Value = pki
            .client()
            .get(format!("{}/api/logs/search", t.base))
            .bearer_auth(ADMIN_TOKEN)
            .query(&[("limit", "5")])
            .send()
            .ok()?
            .json()
            .ok()?;
        (!logs["lines"].as_array()?.is_empty()).then_some(())
    });
}
