//! `taishan query` against a running server: instant and range, table and JSON, errors.

mod support;

use std::process::Command;

use support::Taishan;

fn query(t: &Taishan, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_taishan"))
        .arg("query")
        .args(["--url", &t.base])
        .args(args)
        .output()
        .expect("run taishan query");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn query_command_prints_tables_json_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("data"), "");
    let samples: Vec<(i64, f64)> = (0..10).map(|i| (i * 60_000, i as f64 * 60.0)).collect();
    let (status, body) = t.remote_write(
        None,
        &[
            (
                vec![("__name__", "payments_total"), ("channel", "bank_a")],
                samples.clone(),
            ),
            (
                vec![("__name__", "payments_total"), ("channel", "bank_b")],
                samples,
            ),
        ],
    );
    assert_eq!(status, 204, "{body}");

    let (code, out, err) = query(&t, &["sum(rate(payments_total[5m]))", "--time", "540"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "{} => 2 @540\n");

    let (code, out, err) = query(
        &t,
        &[
            "payments_total{channel=\"bank_a\"}",
            "--start",
            "0",
            "--end",
            "120",
            "--step",
            "1m",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        "payments_total{channel=\"bank_a\"} =>\n  0 @0\n  60 @60\n  120 @120\n"
    );

    let (code, out, _) = query(&t, &["count(payments_total)", "--time", "60", "-o", "json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "2");

    let (code, _, err) = query(&t, &["sum(", "--time", "60"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("bad_data"), "{err}");
}
