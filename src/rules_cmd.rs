//! `taishan rules check FILES` and `taishan rules test FILES`, promtool's two rule commands.

use std::path::PathBuf;
use std::process::ExitCode;

use taishan_rules::unittest::{render, run_file};
use taishan_rules::RuleFile;

/// Checks each rule file, printing every problem with file:line:column; exit 1 on any.
pub fn check(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for path in files {
        println!("Checking {}", path.display());
        match RuleFile::load(path) {
            Ok(f) => println!("  SUCCESS: {} rules found", f.rule_count()),
            Err(errors) => {
                failed = true;
                eprintln!("  FAILED:");
                for e in &errors {
                    eprintln!("{e}");
                }
                eprintln!("  {} problem(s)", errors.len());
            }
        }
        println!();
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs promtool-format unit tests; exit 1 when any fails.
pub fn test(files: &[PathBuf]) -> ExitCode {
    let reports: Vec<_> = files.iter().map(|f| run_file(f)).collect();
    print!("{}", render(&reports));
    if reports.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
