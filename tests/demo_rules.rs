//! The demo's default rules (`rules/demo/`) against Prometheus's own tooling: every rule file
//! passes `promtool check rules` and `taishan rules check`, and every unit test passes in
//! both `promtool test rules` (Debian's Prometheus 2.42) and `taishan rules test` — the two
//! must agree on every file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::which;

fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("rules/demo exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no {suffix} files in {}", dir.display());
    found
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `promtool test rules` and `taishan rules test` on one file: (passed, output) of each.
fn test_in_both(test: &Path) -> ((bool, String), (bool, String)) {
    (
        run(Command::new(which("promtool"))
            .args(["test", "rules"])
            .arg(test)),
        run(Command::new(env!("CARGO_BIN_EXE_taishan"))
            .args(["rules", "test"])
            .arg(test)),
    )
}

#[test]
fn promtool_and_taishan_accept_the_demo_rule_files() {
    let rule_files = files("rules/demo", ".rules.yaml");
    let (ok, out) = run(Command::new(which("promtool"))
        .args(["check", "rules"])
        .args(&rule_files));
    assert!(ok, "promtool check rules:\n{out}");
    let mut all = rule_files.clone();
    all.extend(files("rules/demo", "actions.yaml"));
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(["rules", "check"])
        .args(&all));
    assert!(ok, "taishan rules check:\n{out}");
    assert!(out.contains("SUCCESS: 18 rules found"), "{out}");
}

#[test]
fn every_demo_rule_test_passes_in_promtool_and_in_taishan() {
    for test in files("rules/demo/tests", ".test.yaml") {
        let ((prom_ok, prom), (ours_ok, ours)) = test_in_both(&test);
        assert!(
            prom_ok && ours_ok,
            "{}: promtool {} / taishan {}\n--- promtool:\n{prom}\n--- taishan:\n{ours}",
            test.display(),
            if prom_ok { "passed" } else { "FAILED" },
            if ours_ok { "passed" } else { "FAILED" },
        );
    }
}

#[test]
fn a_wrong_expectation_fails_in_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/demo/business.rules.yaml");
    let red = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/demo/red.rules.yaml");
    let test = dir.path().join("wrong.test.yaml");
    std::fs::write(
        &test,
        format!(
            "rule_files: [{}, {}]\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n      - series: 'ledger_imbalance{{job=\"l\"}}'\n        values: '5x20'\n    alert_rule_test:\n      - eval_time: 2m\n        alertname: LedgerImbalance\n",
            red.display(),
            rules.display()
        ),
    )
    .expect("write");
    let ((prom_ok, prom), (ours_ok, ours)) = test_in_both(&test);
    assert!(!prom_ok && !ours_ok, "both must fail:\n{prom}\n{ours}");
    assert!(
        ours.contains("alertname: LedgerImbalance, time: 2m"),
        "{ours}"
    );
}
