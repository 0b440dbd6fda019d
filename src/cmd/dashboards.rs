//! `taishan dashboards import|export`: Grafana dashboards in and out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use taishan_dashboards::grafana;
use taishan_dashboards::Catalog;

/// `taishan dashboards ...`
#[derive(Debug, clap::Subcommand)]
pub enum DashboardsCommand {
    /// Convert a Grafana dashboard JSON (time series, stat, gauge and table panels with
    /// Prometheus targets; label_values variables) into a Taishan dashboard YAML, and list
    /// on stderr each part it could not convert. Put the file in the directory given to
    /// `taishan up --dashboards`. Exits 1 when the file is not a Grafana dashboard.
    Import {
        /// The Grafana dashboard JSON (an export, or the API's answer).
        file: PathBuf,
        /// Where to write the YAML (default: stdout).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Print a dashboard (built in, or from --dir) as Grafana JSON for a Prometheus data
    /// source pointed at Taishan (flow and alerts panels have no Grafana equivalent).
    Export {
        /// The dashboard's name (home, flow, business, system, or a file's name in --dir).
        name: String,
        /// A directory of dashboard YAML files, as given to `taishan up --dashboards`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The uid of the Grafana data source the panels query.
        #[arg(long, default_value = "taishan")]
        datasource_uid: String,
    },
}

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
