//! Prometheus's own PromQL test scripts (`../shared/conformance/promql/*.test`), run
//! through the store and the engine. Every case outside native histograms must pass.

use std::path::PathBuf;

use taishan_query::promqltest::{render, run_files, totals};

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/promql")
}

#[test]
fn prometheus_conformance_scripts_pass() {
    let dir = conformance_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (../shared must sit beside the clone)",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected Prometheus's test scripts in {}",
        dir.display()
    );
    let outcomes = run_files(&files);
    print!("{}", render(&outcomes, false));
    let (passed, failed, _) = totals(&outcomes);
    assert!(passed > 700, "too few cases ran: {passed}");
    assert_eq!(failed, 0, "conformance cases failed (see the output above)");
}
