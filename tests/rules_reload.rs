//! Rules change without a restart: `POST /-/reload` (or SIGHUP) re-reads the rule files;
//! a broken file is refused with every problem and the rules in force stay.

mod support;

use std::time::Duration;

use support::{client, wait_for, Taishan};

fn rule_names(t: &Taishan) -> Vec<String> {
    let v: serde_json::Value = client()
        .get(format!("{}/api/v1/rules", t.base))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default();
    v["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn reload_swaps_the_rules_and_refuses_broken_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("r.rules.yaml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: first\n        expr: vector(1)\n",
    )
    .expect("rules");
    let t = Taishan::start(
        &dir.path().join("data"),
        &format!("rules:\n  files: [{}]\n", rules.display()),
    );
    assert_eq!(rule_names(&t), ["first"]);

    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - record: second\n        expr: sum(\n",
    )
    .expect("broken rules");
    let refused = client()
        .post(format!("{}/-/reload", t.base))
        .send()
        .expect("reload");
    assert_eq!(refused.status(), 400);
    let body = refused.text().unwrap_or_default();
    assert!(
        body.contains(
            "r.rules.yaml:5:9: group \\\"g\\\", rule 1, \\\"second\\\": could not parse expression"
        ),
        "{body}"
    );
    assert_eq!(rule_names(&t), ["first"], "the rules in force stay");

    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: first\n        expr: vector(1)\n      - record: second\n        expr: vector(2)\n      - alert: Always\n        expr: second > 1\n        labels:\n          severity: page\n        annotations:\n          summary: 'second is {{ $value }}'\n",
    )
    .expect("rules");
    let done = client()
        .post(format!("{}/-/reload", t.base))
        .send()
        .expect("reload");
    assert_eq!(done.status(), 200);
    assert!(done
        .text()
        .unwrap_or_default()
        .contains("3 rule(s) in 1 group(s)"));
    assert_eq!(rule_names(&t), ["first", "second", "Always"]);
    wait_for(
        "the new rule to be evaluated",
        Duration::from_secs(10),
        || {
            let r = t.query(None, "second", None);
            (r["data"]["result"][0]["value"][1] == "2").then_some(())
        },
    );
}
