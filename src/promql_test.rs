//! `taishan promql-test FILE...`: Prometheus's test-script format, run against this engine.

use std::path::PathBuf;
use std::process::ExitCode;

use taishan_query::promqltest::{run_files, totals};

/// Runs the scripts and prints a report; exit code 1 when any case failed.
pub fn run(files: &[PathBuf], verbose: bool) -> ExitCode {
    let outcomes = run_files(files);
    for o in &outcomes {
        let name = o.path.display();
        match &o.report {
            Ok(r) => {
                println!(
                    "{name}: {} passed / {} failed / {} skipped",
                    r.passed,
                    r.failed(),
                    r.skipped.len()
                );
                for f in &r.failures {
                    println!("  FAIL {f}");
                }
                if verbose {
                    for s in &r.skipped {
                        println!("  skip {s}");
                    }
                }
            }
            Err(e) => println!("{name}: could not run: {e}"),
        }
    }
    let (passed, failed, skipped) = totals(&outcomes);
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
