//! Dashboards as files from the command line: `taishan check` on dashboard files and
//! directories (every problem at file:line, the good files still passing), `taishan
//! dashboards import` of a Grafana export with what it left out listed, and `export`.

use std::path::Path;
use std::process::Command;

fn taishan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(args)
        .output()
        .expect("run taishan")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_reads_the_built_in_dashboards_as_dashboards() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let out = taishan(&["check", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for name in ["home", "flow", "business", "system"] {
        assert!(
            stdout.contains(&format!("{name}.yaml: valid dashboard")),
            "{stdout}"
        );
    }
}

#[test]
fn a_broken_dashboard_is_placed_and_the_others_still_pass() {
    let dir = tempfile::tempdir().unwrap();
    let good = "title: Good\nrows:\n  - title: R\n    panels:\n      - title: A\n        queries:\n          - expr: up\n";
    std::fs::write(dir.path().join("good.yaml"), good).unwrap();
    let broken = "title: Broken\nrows:\n  - title: R\n    panels:\n      - title: A\n        type: stat\n        width: 20\n        queries:\n          - expr: sum(rate(x[1m])\n";
    std::fs::write(dir.path().join("broken.yaml"), broken).unwrap();
    let out = taishan(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("good.yaml: valid dashboard"), "{stdout}");
    let file = dir.path().join("broken.yaml").display().to_string();
    assert!(stderr.contains(&format!("{file}:7:")), "{stderr}");
    assert!(stderr.contains("width from 1 to 12"), "{stderr}");
    assert!(
        stderr.contains(&format!("{file}:9:")) && stderr.contains("not PromQL"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s) found"), "{stderr}");
}

#[test]
fn a_grafana_dashboard_imports_with_the_unconvertible_parts_listed() {
    let dir = tempfile::tempdir().unwrap();
    let grafana =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards/testdata/grafana-payments.json");
    let out_file = dir.path().join("payments.yaml");
    let out = taishan(&[
        "dashboards",
        "import",
        grafana.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("4 panels written"), "{stderr}");
    assert!(stderr.contains("not converted: panels[3] \"Latency heatmap\": a heatmap panel has no Taishan equivalent"), "{stderr}");
    assert!(stderr.contains("part(s) not converted"), "{stderr}");
    // What it wrote passes `taishan check` as a dashboard.
    let out = taishan(&["check", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid dashboard"));
    let out = taishan(&["dashboards", "import", env!("CARGO_MANIFEST_DIR")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn export_prints_grafana_json_or_names_the_known_dashboards() {
    let out = taishan(&["dashboards", "export", "business"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["title"], "Business");
    assert!(json["panels"].as_array().unwrap().len() > 10);
    let out = taishan(&["dashboards", "export", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("home, flow, business, system"));
}
