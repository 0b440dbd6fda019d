//! Taishan behind a web config in headless Chromium (`tests/ui/security.py`): the login
//! page and its session cookie, a breaker opened with the session (the audit trail names
//! the logged-in user, not the name typed), forms posted from another loopback origin's
//! page refused on 7070 and on 9093, and a drill report holding `<script>` shown as text
//! with no script of it run.

mod support;

use serde_json::{json, Value};
use support::{client, wait_for, Taishan};

const USER: &str = "oncall";
const PASSWORD: &str = "oncall-pass";

fn evil_page(base: &str, alerter: &str) -> String {
    let breaker = r#"{"command":"open_breaker","reason":"forged","who":"evil","x":""#;
    let silence = r#"{"matchers":[{"name":"alertname","value":".+","isRegex":true}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"evil","comment":"forged","x":""#;
    format!(
        "<!doctype html><html><body><iframe name=\"a\"></iframe><iframe name=\"b\"></iframe>\
<form id=\"f1\" target=\"a\" method=\"post\" action=\"{base}/api/v1/guards/payment/bank-c\" enctype=\"text/plain\"><input name='{breaker}' value='\"}}'></form>\
<form id=\"f2\" target=\"b\" method=\"post\" action=\"{alerter}/api/v2/silences\" enctype=\"text/plain\"><input name='{silence}' value='\"}}'></form>\
<script>window.sent = 0;\
for (const f of ['f1', 'f2']) {{ document.getElementById(f).submit(); window.sent++; }}</script></body></html>"
    )
}

fn admin(request: reqwest::blocking::RequestBuilder) -> Value {
    request
        .basic_auth("admin", Some("admin-pass"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn a_logged_in_person_acts_and_another_origins_page_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    let hash = |p: &str| bcrypt::hash(p, 4).unwrap();
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  {USER}: {}\n  admin: {}\ntaishan:\n  users:\n    {USER}: {{roles: [viewer, operator], tenants: [\"*\"]}}\n",
            hash(PASSWORD),
            hash("admin-pass")
        ),
    )
    .unwrap();
    let t = Taishan::start_demo(&dir.path().join("data"), |base| {
        format!(
            "  web_config: {}\nscrape:\n  self_scrape: false\ndemo:\n  base_port: {base}\n  traffic:\n    rate: 5\n",
            web.display()
        )
    });
    // The guard the page acts on has reported to the control plane.
    wait_for(
        "the demo's guards",
        std::time::Duration::from_secs(60),
        || {
            let guards = admin(client().get(format!("{}/api/v1/guards", t.base)));
            guards.to_string().contains("bank-c").then_some(())
        },
    );
    let evil = "<script>window.top.__pwned = 1</script>";
    let recorded = client()
        .post(format!("{}/api/v1/chaos/reports", t.base))
        .basic_auth("admin", Some("admin-pass"))
        .json(&json!({
            "drill": evil, "verdict": "pass", "reasons": [evil], "score": 1,
            "timeline": {"started_ms": 0, "finished_ms": 1000}, "money": {},
        }))
        .send()
        .unwrap();
    assert_eq!(recorded.status(), 201);
    let page = evil_page(&t.base, &t.alerter);
    let evil_port = support::serve_http(move |_| ("text/html".into(), page.clone()));
    let shots = std::env::temp_dir().join("taishan-ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = support::run_test_python(
        "ui/security.py",
        &[
            &t.base,
            &t.alerter,
            &format!("http://127.0.0.1:{evil_port}/"),
            shots.to_str().unwrap(),
            USER,
            PASSWORD,
        ],
    );
    let r: Value = serde_json::from_str(out.trim()).expect("the script's JSON report");
    assert!(
        r["login_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/login?next=", t.base)),
        "{r}"
    );
    assert!(r["wrong_password_note"]
        .as_str()
        .unwrap()
        .contains("Wrong user name or password"));
    // Back on the page asked for (which then adds its range to the address).
    let back = r["after_login_url"].as_str().unwrap();
    assert!(back.starts_with(&format!("{}/d/home", t.base)), "{back}");
    assert_eq!(
        r["cookie"],
        json!([{"name": "taishan_session", "httpOnly": true, "sameSite": "Strict"}])
    );
    assert_eq!(r["open_breaker"]["status"], 200, "{r}");
    // The audit trail names who logged in, not the name the request typed; nothing forged.
    let audit = admin(client().get(format!("{}/api/v1/guards/audit?guard=bank-c", t.base)));
    let audit = audit.to_string();
    assert!(
        audit.contains("opened from the session") && audit.contains("\"who\":\"oncall\""),
        "{audit}"
    );
    assert!(
        !audit.contains("typed-name") && !audit.contains("forged"),
        "{audit}"
    );
    let silences = admin(client().get(format!("{}/api/v2/silences", t.alerter)));
    assert!(!silences.to_string().contains("forged"), "{silences}");
    assert!(
        t.log().contains("cross-origin request refused"),
        "no refusal logged"
    );
    check_audit_trail(&t);
    // The report's markup is text; none of it ran.
    assert!(
        r["report_title"].as_str().unwrap().contains("<script>"),
        "{r}"
    );
    assert_eq!(r["pwned"], false);
    let errors: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|e| !e.contains("401"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

/// `taishan audit` as an admin: the logins, the failed login, the breaker opened with the
/// session (who logged in, from where, why), and the forged post refused; without a
/// credential it is refused.
fn check_audit_trail(t: &Taishan) {
    let audit = |user: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_taishan"));
        cmd.args(["audit", "--url", &t.base, "-o", "json", "--limit", "500"]);
        if let Some(u) = user {
            cmd.args(["--user", u])
                .env("TAISHAN_PASSWORD", "admin-pass");
        }
        cmd.env_remove("TAISHAN_TOKEN").output().unwrap()
    };
    let refused = audit(None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("401"),
        "{refused:?}"
    );
    let out = audit(Some("admin"));
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = v["data"].as_array().unwrap();
    let find = |kind: &str, status: u64, who: &str| {
        records
            .iter()
            .find(|r| r["kind"] == kind && r["status"] == status && r["who"] == who)
            .unwrap_or_else(|| panic!("no {kind} record by {who} with {status} in {v:#}"))
    };
    find("logins", 303, USER);
    find("logins", 401, USER);
    let opened = find("guards", 200, USER);
    assert_eq!(opened["why"], "opened from the session");
    assert!(
        opened["source"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{opened}"
    );
    assert_eq!(opened["roles"], json!(["viewer", "operator"]));
    let forged = find("guards", 403, USER);
    assert_eq!(forged["why"], "forged");
}
