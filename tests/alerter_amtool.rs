//! Debian's `amtool` (Alertmanager 0.25) against Taishan's alerter: alerts, silences and the
//! routing tree as amtool sees them over the API.

mod support;

use std::process::Command;
use std::time::Duration;

use support::alertmanager::Alertmanager;
use support::{client, wait_for, which, Taishan};

/// Runs amtool; whether it succeeded, and its stdout (with stderr after it on failure).
fn amtool(t: &Taishan, args: &[&str]) -> (bool, String) {
    let out = Command::new(which("amtool"))
        .arg(format!("--alertmanager.url={}", t.alerter))
        .args(args)
        .output()
        .expect("run amtool");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("are different"),
        "amtool warns of a version mismatch: {stderr}"
    );
    if !out.status.success() {
        text.push_str(&stderr);
    }
    (out.status.success(), text)
}

#[test]
fn amtool_queries_alerts_manages_silences_and_reads_routes() {
    let dir = tempfile::tempdir().unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am,
        "route:\n  receiver: ops\n  group_by: [alertname]\n  routes:\n    - matchers: ['team=\"db\"']\n      receiver: db\nreceivers:\n  - name: ops\n  - name: db\n",
    )
    .unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        &format!("alerter:\n  config_file: {}\n", am.display()),
    );

    let (ok, out) = amtool(
        &t,
        &[
            "alert",
            "add",
            "DiskFull",
            "team=db",
            "instance=db-1",
            "--annotation=summary=full",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = amtool(&t, &["alert", "query"]);
    assert!(ok && out.contains("DiskFull"), "{out}");
    let (ok, out) = amtool(&t, &["alert", "query", "team=web"]);
    assert!(ok && !out.contains("DiskFull"), "{out}");

    let (ok, id) = amtool(
        &t,
        &[
            "silence",
            "add",
            "team=db",
            "--comment=migration",
            "--author=alice",
            "--duration=1h",
        ],
    );
    assert!(ok, "{id}");
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let (ok, out) = amtool(&t, &["silence", "query"]);
    assert!(
        ok && out.contains(&id) && out.contains("alice") && out.contains("migration"),
        "{out}"
    );
    // The silenced alert shows as suppressed.
    let listed: serde_json::Value = wait_for(
        "the alert to be suppressed",
        Duration::from_secs(10),
        || {
            let v: serde_json::Value = client()
                .get(format!("{}/api/v2/alerts", t.alerter))
                .send()
                .ok()?
                .json()
                .ok()?;
            (v[0]["status"]["state"] == "suppressed").then_some(v)
        },
    );
    assert_eq!(listed[0]["status"]["silencedBy"][0], id.as_str());
    let (ok, out) = amtool(&t, &["silence", "expire", &id]);
    assert!(ok, "{out}");
    let (ok, out) = amtool(&t, &["silence", "query"]);
    assert!(ok && !out.contains(&id), "{out}");
    let (ok, out) = amtool(&t, &["silence", "query", "--expired"]);
    assert!(ok && out.contains(&id), "{out}");

    let (ok, out) = amtool(&t, &["config", "routes"]);
    assert!(
        ok && out.contains("db") && out.contains("team=\"db\""),
        "{out}"
    );
    let (ok, out) = amtool(&t, &["config", "routes", "test", "team=db"]);
    assert!(ok && out.trim() == "db", "{out}");
}

/// A config whose receivers hold secrets: a global SMTP password, a robot's token-bearing
/// URL and a webhook's basic-auth password.
const WITH_SECRETS: &str = "global:\n  smtp_smarthost: 127.0.0.1:25\n  smtp_from: alerts@example.com\n  smtp_auth_username: alerts\n  smtp_auth_password: hunter2\nroute:\n  receiver: ops\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: https://oapi.dingtalk.com/robot/send?access_token=robot-token\n        http_config:\n          basic_auth: {username: hook, password: hook-password}\n";

fn status_config(base: &str) -> String {
    let status: serde_json::Value = client()
        .get(format!("{base}/api/v2/status"))
        .basic_auth("viewer", Some("vpass"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    status["config"]["original"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn amtool_acts_with_its_http_config_and_the_status_hides_secrets_as_alertmanager_does() {
    let dir = tempfile::tempdir().unwrap();
    let am_file = dir.path().join("alertmanager.yml");
    std::fs::write(&am_file, WITH_SECRETS).unwrap();
    let hash = |p: &str| bcrypt::hash(p, 4).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  oncall: {}\n  viewer: {}\ntaishan:\n  users:\n    oncall: {{roles: [viewer, writer, operator], tenants: [\"*\"]}}\n    viewer: {{roles: [viewer], tenants: [\"*\"]}}\n",
            hash("opass"),
            hash("vpass")
        ),
    )
    .unwrap();
    let t = Taishan::start_with_web_config(
        &dir.path().join("d"),
        &format!("alerter:\n  config_file: {}\n", am_file.display()),
        &web,
    );
    // Alertmanager 0.25 and Taishan show the same file: neither gives a password away,
    // and Taishan masks the token in the robot's URL too (Alertmanager 0.25 shows it).
    let am = Alertmanager::start(WITH_SECRETS);
    let theirs = ["hunter2", "hook-password"].as_slice();
    let ours = ["hunter2", "hook-password", "robot-token"].as_slice();
    for (who, shown, secrets) in [
        ("alertmanager", status_config(&am.base), theirs),
        ("taishan", status_config(&t.alerter), ours),
    ] {
        for secret in secrets {
            assert!(!shown.contains(secret), "{who} shows {secret}:\n{shown}");
        }
        assert!(
            shown.contains("<secret>") && shown.contains("alerts@example.com"),
            "{who}:\n{shown}"
        );
    }
    // amtool with --http.config.file: the on-call person's credentials act; none do not.
    let http_config = dir.path().join("amtool-http.yml");
    std::fs::write(
        &http_config,
        "basic_auth:\n  username: oncall\n  password: opass\n",
    )
    .unwrap();
    let http_flag = format!("--http.config.file={}", http_config.display());
    let (ok, out) = amtool(&t, &[&http_flag, "alert", "add", "DiskFull", "team=db"]);
    assert!(ok, "{out}");
    let (ok, out) = amtool(
        &t,
        &[
            &http_flag,
            "silence",
            "add",
            "alertname=DiskFull",
            "--comment=maintenance",
            "--author=oncall",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = amtool(
        &t,
        &[
            "silence",
            "add",
            "alertname=DiskFull",
            "--comment=x",
            "--author=x",
        ],
    );
    assert!(!ok && out.contains("401"), "{out}");
    let (ok, out) = amtool(&t, &[&http_flag, "silence", "query"]);
    assert!(ok && out.contains("maintenance"), "{out}");
}
