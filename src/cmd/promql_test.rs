//! `taishan promql-test FILE...`: Prometheus's test-script format, run against this engine.

use std::path::PathBuf;
use std::process::ExitCode;

use taishan_query::promqltest::{render, run_files, totals};

/// Runs the scripts and prints a report; exit code 1 when any case failed.
pub fn run(files: &[PathBuf], verbose: bool) -> ExitCode {
    let outcomes = run_files(files);
    print!("{}", render(&outcomes, verbose));
    if totals(&outcomes).1 > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
