//! `taishan guards`: an operator sees the demo's guards, pins a breaker open, is told
//! plainly when a command does not fit, releases it, reads the audit log — and a pin
//! survives a restart of Taishan (kill -9 included).

mod support;

use std::process::Command;
use std::time::Duration;

use support::{wait_for, Taishan};

fn guards(base: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .arg("guards")
        .args(args)
        .args(["--url", base])
        .env("USER", "alice")
        .output()
        .expect("run taishan guards");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn listed(base: &str) -> String {
    let (ok, out) = guards(base, &["list"]);
    assert!(ok, "{out}");
    out
}

fn line_of(list: &str, guard: &str) -> String {
    list.lines()
        .find(|l| l.starts_with(guard))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn operators_pin_and_release_guards_and_pins_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = Taishan::start_demo(&dir.path().join("data"), |base_port| {
        format!(
            "scrape:\n  self_scrape: false\ndemo:\n  base_port: {base_port}\n  traffic:\n    rate: 1\n"
        )
    });
    let base = t.base.clone();
    wait_for(
        "the demo's guards to report",
        Duration::from_secs(30),
        || {
            let l = listed(&base);
            (l.contains("payment/bank-b") && l.contains("risk/risk-model")).then_some(())
        },
    );
    assert!(line_of(&listed(&base), "payment/bank-b").contains("closed"));

    let (ok, out) = guards(
        &base,
        &[
            "open",
            "payment",
            "bank-b",
            "--reason",
            "bank-b maintenance",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("payment/bank-b: open_breaker"), "{out}");
    wait_for("bank-b to be held open", Duration::from_secs(10), || {
        let l = line_of(&listed(&base), "payment/bank-b");
        (l.contains(" open ") && l.contains("open_breaker by operator alice")).then_some(())
    });

    // A command that does not fit the guard, an unknown guard, no reason: refused, exit 1.
    let (ok, out) = guards(&base, &["degrade", "payment", "bank-b", "--reason", "x"]);
    assert!(
        !ok && out.contains("is a breaker guard; degrade does not apply"),
        "{out}"
    );
    let (ok, out) = guards(&base, &["open", "payment", "bank-q", "--reason", "x"]);
    assert!(!ok && out.contains("no guard payment/bank-q"), "{out}");
    let (ok, out) = guards(&base, &["open", "payment", "bank-b"]);
    assert!(!ok && out.contains("--reason"), "{out}");

    let (ok, out) = guards(
        &base,
        &["degrade", "risk", "risk-model", "--reason", "bureau down"],
    );
    assert!(ok, "{out}");
    wait_for("risk to degrade", Duration::from_secs(10), || {
        line_of(&listed(&base), "risk/risk-model")
            .contains("degraded")
            .then_some(())
    });

    // Restart (kill -9): the pins are still in force and carried out again.
    let mut t2 = t.restart();
    let base = t2.base.clone();
    wait_for(
        "bank-b held open after the restart",
        Duration::from_secs(30),
        || {
            let l = line_of(&listed(&base), "payment/bank-b");
            (l.contains(" open ") && l.contains("by operator alice")).then_some(())
        },
    );

    let (ok, out) = guards(
        &base,
        &[
            "release",
            "payment",
            "bank-b",
            "--reason",
            "done",
            "--no-probe",
        ],
    );
    assert!(ok, "{out}");
    wait_for("bank-b closed again", Duration::from_secs(10), || {
        let l = line_of(&listed(&base), "payment/bank-b");
        (l.contains("closed") && l.ends_with(" -")).then_some(())
    });
    let (ok, audit) = guards(
        &base,
        &["audit", "--service", "payment", "--guard", "bank-b"],
    );
    assert!(ok, "{audit}");
    for want in [
        "payment/bank-b open_breaker by operator alice",
        "bank-b maintenance",
        "payment/bank-b release by operator alice",
        "reported closed -> open",
        "reported open -> closed",
    ] {
        assert!(audit.contains(want), "missing {want:?} in\n{audit}");
    }
    t2.stop();
}
