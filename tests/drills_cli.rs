//! Drill files from the command line: `taishan check` reads the standard drills as drills,
//! and places every problem of a broken one at file:line.

use std::path::Path;
use std::process::Command;

fn taishan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(args)
        .output()
        .expect("run taishan")
}

#[test]
fn the_standard_drills_are_valid_drills() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("drills");
    let out = taishan(&["check", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("bank-channel-outage.yaml: valid drill"),
        "{stdout}"
    );
}

#[test]
fn a_broken_drill_is_placed_at_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        "name: broken\nsteady_state:\n  - {name: up, expr: 'sum(up'}\nfaults:\n  - fault: {kind: meteor}\n    duration: 1m\n",
    )
    .unwrap();
    let out = taishan(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = file.display().to_string();
    assert!(
        stderr.contains(&format!("{shown}:3:")) && stderr.contains("not PromQL"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{shown}:5:")) && stderr.contains("unknown fault kind \"meteor\""),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s) found"), "{stderr}");
}
