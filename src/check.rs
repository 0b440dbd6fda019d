//! `taishan check CONFIG`.

use std::path::Path;
use std::process::ExitCode;

use taishan_core::config::Config;

/// Prints every problem of the config file; exit code 1 when there is any.
pub fn run(path: &Path) -> ExitCode {
    match Config::load_file_with(path, &crate::up::binary_checks) {
        Ok(_) => {
            println!("{}: valid", path.display());
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            eprintln!("{} problem(s) found", diagnostics.len());
            ExitCode::from(1)
        }
    }
}
