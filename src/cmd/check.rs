//! `taishan check FILE|DIR...`: Taishan's config files, dashboards and drills, each read as
//! what it is, every problem printed as file:line:column: where: what.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::up::config::Config;

/// What a file is, from its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    Dashboard,
    Drill,
}

fn kind_of(text: &str) -> Kind {
    let top: Option<serde_yaml_ng::Mapping> = serde_yaml_ng::from_str(text).ok();
    match top {
        Some(m) if m.contains_key("rows") => Kind::Dashboard,
        Some(m) if m.contains_key("faults") => Kind::Drill,
        _ => Kind::Config,
    }
}

/// Every file to check: files as given, the YAML files of directories in name order.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Prints every problem of every file; exit code 1 when there is any.
pub fn run(paths: &[PathBuf]) -> ExitCode {
    let files = match files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let mut problems = 0;
    for file in &files {
        problems += check_one(file);
    }
    if problems > 0 {
        eprintln!("{problems} problem(s) found");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Checks one file; the number of problems found.
fn check_one(path: &Path) -> usize {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return 1;
        }
    };
    let (what, found) = match kind_of(&text) {
        Kind::Dashboard => (
            "dashboard",
            taishan_dashboards::parse_dashboard(&path.display().to_string(), &text).err(),
        ),
        Kind::Drill => (
            "drill",
            taishan_chaos::parse_drill(&path.display().to_string(), &text).err(),
        ),
        Kind::Config => ("config", Config::load_file(path).err()),
    };
    match found {
        None => {
            println!("{}: valid {what}", path.display());
            0
        }
        Some(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            diagnostics.len()
        }
    }
}
