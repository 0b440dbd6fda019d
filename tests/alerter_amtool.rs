//! Debian's `amtool` (Alertmanager 0.25) against Taishan's alerter: alerts, silences and the
//! routing tree as amtool sees them over the API.

mod support;

use std::process::Command;
use std::time::Duration;

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
