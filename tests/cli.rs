//! The command line: help text and `taishan check`.

use std::process::Command;

fn taishan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_taishan"))
        .args(args)
        .output()
        .expect("run taishan")
}

#[test]
fn help_explains_the_commands_and_defaults() {
    let out = taishan(&["up", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--config",
        "--data-dir",
        "[default: ./data]",
        "--http-listen",
        "Ctrl-C",
    ] {
        assert!(
            text.contains(expected),
            "`up --help` lacks {expected:?}:\n{text}"
        );
    }
    let out = taishan(&["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("check"));
}

#[test]
fn check_prints_every_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "storage:\n  retention: 30m\n  wal:\n    sync: sometimes\nscrape:\n  jobs:\n    - job_name: api\n      targets: [\"api.internal\"]\n",
    )
    .unwrap();
    let out = taishan(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(err.contains(&format!("{file}:4:5: storage.wal.sync: unknown variant `sometimes`, expected `always` or `interval`")), "{err}");
    // The scrape section's own problem is reported in the same run.
    assert!(
        err.contains(&format!(
            "{file}:8:17: scrape.jobs[0].targets[0]: target \"api.internal\" must be host:port"
        )),
        "{err}"
    );
    assert!(err.contains("2 problem(s) found"), "{err}");
    std::fs::write(&path, "scrape:\n  jobs:\n    - job_name: api\n      targets: [\"api.internal\"]\n      interval: 10s\n      timeout: 20s\n").unwrap();
    let out = taishan(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{file}:4:17: scrape.jobs[0].targets[0]: target \"api.internal\" must be host:port"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:6:7: scrape.jobs[0].timeout: must not exceed the interval (10s)"
        )),
        "{err}"
    );
    std::fs::write(&path, "server:\n  http_listen: 127.0.0.1:7070\n").unwrap();
    let out = taishan(&["check", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_config_in_the_repository_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/taishan.example.yaml");
    let out = taishan(&["check", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
