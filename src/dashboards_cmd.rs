//! `taishan dashboards import|export`: Grafana dashboards in and out.

use std::path::Path;
use std::process::ExitCode;

use taishan_dashboards::grafana;
use taishan_dashboards::Catalog;

use crate::cli::DashboardsCommand;

/// Runs the subcommand.
pub fn run(cmd: &DashboardsCommand) -> ExitCode {
    match cmd {
        DashboardsCommand::Import { file, out } => import(file, out.as_deref()),
        DashboardsCommand::Export {
            name,
            dir,
            datasource_uid,
        } => export(name, dir.as_deref(), datasource_uid),
    }
}

fn import(file: &Path, out: Option<&Path>) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let imported = match grafana::import(&text) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let yaml = format!(
        "# Imported from Grafana ({}) by `taishan dashboards import`.\n{}",
        file.display(),
        grafana::to_yaml(&imported.dashboard)
    );
    let panels: usize = imported.dashboard.rows.iter().map(|r| r.panels.len()).sum();
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &yaml) {
                eprintln!("{}: {e}", path.display());
                return ExitCode::from(1);
            }
            eprintln!("{}: {panels} panels written", path.display());
        }
        None => print!("{yaml}"),
    }
    for note in &imported.notes {
        eprintln!("not converted: {note}");
    }
    if !imported.notes.is_empty() {
        eprintln!(
            "{} part(s) not converted (listed above)",
            imported.notes.len()
        );
    }
    ExitCode::SUCCESS
}

fn export(name: &str, dir: Option<&Path>, datasource_uid: &str) -> ExitCode {
    let catalog = Catalog::load(dir);
    for problem in catalog.problems() {
        eprintln!("{problem}");
    }
    let Some(d) = catalog.get(name) else {
        let known: Vec<String> = catalog.titles().into_iter().map(|(n, _)| n).collect();
        eprintln!("no dashboard {name:?}; there are: {}", known.join(", "));
        return ExitCode::from(1);
    };
    let json = grafana::export(&d, datasource_uid);
    println!(
        "{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    );
    ExitCode::SUCCESS
}
