//! `taishan`: the CLI and the wiring of every part into one process.

mod admin;
mod alert_forwarder;
mod alerts_cmd;
mod alerts_history_cmd;
mod alerts_test_cmd;
mod api_client;
mod check;
mod cli;
mod dashboards_cmd;
mod drill_cmd;
mod error_text;
mod guards_cmd;
mod nab_cmd;
mod otlp;
mod promql_test;
mod query_cmd;
mod rca_cmd;
mod rule_engine;
mod rules_cmd;
mod self_metrics;
mod sighup;
mod telemetry_cmd;
mod traffic_cmd;
mod up;

use std::process::ExitCode;

/// Ingest decodes and frees millions of small label strings per second; mimalloc's
/// thread-local free lists took malloc/free from a quarter of ingest CPU under glibc to a
/// few percent (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The server logs its life; one-shot commands only their troubles.
    let default_level = match cli.command {
        cli::Command::Up(_) | cli::Command::Traffic(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        cli::Command::Check { files } => check::run(&files),
        cli::Command::Query(args) => query_cmd::run(&args),
        cli::Command::Traces(cmd) => telemetry_cmd::traces(&cmd),
        cli::Command::Logs(cmd) => telemetry_cmd::logs(&cmd),
        cli::Command::Traffic(args) => traffic_cmd::run(&args),
        cli::Command::PromqlTest { files, verbose } => promql_test::run(&files, verbose),
        cli::Command::Guards(cmd) => guards_cmd::run(&cmd),
        cli::Command::Alerts(cmd) => alerts_cmd::run(&cmd),
        cli::Command::Dashboards(cmd) => dashboards_cmd::run(&cmd),
        cli::Command::Drill(cmd) => drill_cmd::run(&cmd),
        cli::Command::Nab(args) => nab_cmd::run(&args),
        cli::Command::Rca(args) => rca_cmd::run(&args),
        cli::Command::Rules(cli::RulesCommand::Check { files }) => rules_cmd::check(&files),
        cli::Command::Rules(cli::RulesCommand::Test { files }) => rules_cmd::test(&files),
        cli::Command::Up(args) => match up::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("taishan: {}", crate::error_text::chain(&e));
                ExitCode::FAILURE
            }
        },
    }
}
