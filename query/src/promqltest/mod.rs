//! A runner for Prometheus's promqltest scripts (the `.test` files of Prometheus's own
//! PromQL test suite): [`script`] reads them, [`runner`] loads their data through the
//! store's public API, evaluates every case with the engine and compares.
//!
//! Cases about native histograms are skipped and reported by name: this engine stores
//! float samples only.

pub mod runner;
pub mod script;

use std::path::{Path, PathBuf};

pub use runner::{run_script, FileReport, RunError};

/// The outcome of one file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// Its report, or why it could not run.
    pub report: Result<FileReport, FileError>,
}

/// Why a file could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    /// The script is malformed; the path prefixes the error's own `line: reason`.
    #[error("{path}:{source}")]
    Script {
        /// The script's path as given.
        path: String,
        /// What was wrong, and on which line.
        source: RunError,
    },
}

/// Runs each file.
pub fn run_files(paths: &[PathBuf]) -> Vec<FileOutcome> {
    paths
        .iter()
        .map(|path| FileOutcome {
            path: path.clone(),
            report: run_file(path),
        })
        .collect()
}

fn run_file(path: &Path) -> Result<FileReport, FileError> {
    let text = std::fs::read_to_string(path)?;
    run_script(&text).map_err(|source| FileError::Script {
        path: path.display().to_string(),
        source,
    })
}

/// Totals over files: `(passed, failed, skipped)`; a file that could not run counts as one
/// failure.
pub fn totals(outcomes: &[FileOutcome]) -> (usize, usize, usize) {
    outcomes
        .iter()
        .fold((0, 0, 0), |(p, f, s), o| match &o.report {
            Ok(r) => (p + r.passed, f + r.failed(), s + r.skipped.len()),
            Err(_) => (p, f + 1, s),
        })
}

/// The report of a run as text: per file `passed / failed / skipped` and every failure (every
/// skipped case too with `verbose`), ending with `N passed, N failed, N skipped`.
pub fn render(outcomes: &[FileOutcome], verbose: bool) -> String {
    let mut out = String::new();
    for o in outcomes {
        let name = o.path.display();
        match &o.report {
            Ok(r) => {
                out.push_str(&format!(
                    "{name}: {} passed / {} failed / {} skipped\n",
                    r.passed,
                    r.failed(),
                    r.skipped.len()
                ));
                for f in &r.failures {
                    out.push_str(&format!("  FAIL {f}\n"));
                }
                if verbose {
                    for s in &r.skipped {
                        out.push_str(&format!("  skip {s}\n"));
                    }
                }
            }
            Err(e) => out.push_str(&format!("{name}: could not run: {e}\n")),
        }
    }
    let (passed, failed, skipped) = totals(outcomes);
    out.push_str(&format!(
        "{passed} passed, {failed} failed, {skipped} skipped\n"
    ));
    out
}
