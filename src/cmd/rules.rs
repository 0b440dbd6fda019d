//! `taishan rules check FILES` and `taishan rules test FILES`, promtool's two rule commands.
//! `check` also reads Taishan's action files and checks each action names an alerting
//! rule of the files given with it.

use std::path::PathBuf;
use std::process::ExitCode;

use taishan_rules::unittest::{render, run_file};
use taishan_rules::{NamedText, RuleSet};

/// `taishan rules ...`
#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Check rule files and print every problem as file:line:column: where: what.
    ///
    /// Reads Prometheus rule files (groups, interval, limit, query_offset, recording and
    /// alerting rules with for, keep_firing_for, labels and annotation templates) plus
    /// Taishan's group `tenant`. Prints `SUCCESS: N rules found` per valid file; exits 1
    /// when any file has a problem.
    Check {
        /// Rule files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run rule unit tests written for `promtool test rules`.
    ///
    /// Each file names its rule_files (relative to it), an evaluation_interval and tests
    /// with input_series, alert_rule_test and promql_expr_test. Prints SUCCESS or FAILED
    /// with what was expected and what came, per file; exits 1 when any test fails.
    Test {
        /// Test files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Checks each file, printing every problem with file:line:column; exit 1 on any.
/// Carries out `taishan rules ...`.
pub fn run(cmd: &RulesCommand) -> ExitCode {
    match cmd {
        RulesCommand::Check { files } => check(files),
        RulesCommand::Test { files } => test(files),
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    let mut all = RuleSet::default();
    for path in files {
        println!("Checking {}", path.display());
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                failed = true;
                eprintln!("  FAILED:\n{name}: cannot read the file: {e}\n");
                continue;
            }
        };
        match RuleSet::parse_each(&[NamedText { name, text }]) {
            // An action file's alerts are checked against all the files, below.
            Ok(set) if !set.actions.is_empty() => {
                println!("  SUCCESS: {} actions found", set.action_count());
                all.extend(set);
            }
            Ok(set) => {
                println!("  SUCCESS: {} rules found", set.rule_count());
                all.extend(set);
            }
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
    if !failed {
        if let Err(errors) = all.check_actions() {
            failed = true;
            eprintln!("Checking the actions against the alerting rules given");
            eprintln!("  FAILED:");
            for e in &errors {
                eprintln!("{e}");
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs promtool-format unit tests; exit 1 when any fails.
fn test(files: &[PathBuf]) -> ExitCode {
    let reports: Vec<_> = files.iter().map(|f| run_file(f)).collect();
    print!("{}", render(&reports));
    if reports.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
