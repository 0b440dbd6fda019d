//! The command line: every command of `taishan`, each in its own module with its
//! arguments ([`Command`] lists them), and the options several share ([`Server`],
//! [`OutputFormat`]).

mod alerts;
pub mod api_client;
mod audit;
mod check;
pub mod client_auth;
mod dashboards;
mod drill;
pub mod error_text;
mod guards;
mod nab;
mod promql_test;
mod query;
mod rca;
mod rules;
mod telemetry;
mod traffic;
pub mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Taishan: observability and stability for systems that move money.
///
/// One binary takes in metrics (Prometheus remote write, Influx line protocol, scraping),
/// stores them in an embedded time-series database with a write-ahead log, and answers
/// PromQL over Prometheus's HTTP API.
#[derive(Debug, Parser)]
#[command(name = "taishan", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole platform in this process until Ctrl-C or SIGTERM.
    ///
    /// Serves ingest (remote write, Influx, OTLP), the query API and /metrics, scrapes the
    /// configured targets and itself, and stores everything under --data-dir. Unless
    /// --no-demo, also runs the demo financial services (gateway, risk, loan, payment,
    /// ledger, clearing, reconciliation, compensation, simulated banks) on ports from
    /// 7100, instrumented with OpenTelemetry into this Taishan, with customer traffic.
    /// On shutdown the write-ahead log is flushed; every acknowledged write survives.
    Up(up::UpArgs),
    /// Check config, dashboard and drill files; print every problem as file:line:column: field: message.
    ///
    /// Each file is read as what it is: a dashboard when it has `rows:` at the top (as in
    /// dashboards/), a drill when it has `faults:` (as in drills/), else Taishan's config. A directory checks every .yaml/.yml file in it.
    /// Exits 0 when every file is valid, 1 when one is not.
    Check {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Ask a running Taishan (or any Prometheus-compatible server) a PromQL question.
    ///
    /// An instant query at --time (default: now), or a range query with --start, --end and
    /// --step. Prints a table, or the API's JSON with --output json. Exits 1 on an error
    /// answer, printing Prometheus's errorType and message.
    Query(query::QueryArgs),
    /// Find traces on a running Taishan, or show one.
    #[command(subcommand)]
    Traces(telemetry::TracesCommand),
    /// Search the logs of a running Taishan, newest first.
    #[command(subcommand)]
    Logs(telemetry::LogsCommand),
    /// Drive simulated customers against the demo's gateway.
    ///
    /// Customers apply for credit, draw down and repay at --rate actions per second on
    /// average, following the day (busiest at --peak-hour UTC). Prints progress every 10
    /// seconds and a summary at the end; stops after --duration or --count, or on Ctrl-C.
    /// `taishan up` already runs this traffic unless started with --no-demo.
    Traffic(traffic::TrafficArgs),
    /// See and steer the services' guards through a running Taishan's control plane.
    ///
    /// Lists every guard with what its service reports, the rule's decision and the
    /// operator's; pins a breaker open, forces it closed, degrades, limits, or releases a
    /// guard (an operator's decision overrides the rules' until released); shows the audit
    /// log. Every change needs --reason, which the audit log keeps.
    #[command(subcommand)]
    Guards(guards::GuardsCommand),
    /// Work with the alerter's Alertmanager config from a terminal.
    ///
    /// `route` prints where an alert with the given labels is routed: each matching route's
    /// receiver, its path through the tree with matchers, and its grouping and timers.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Dashboards as code: bring Grafana dashboards in, take Taishan's out to Grafana.
    #[command(subcommand)]
    Dashboards(dashboards::DashboardsCommand),
    /// Fault-injection drills against a running Taishan's demo services.
    ///
    /// `run` carries out a drill file (drills/*.yaml) and prints its verdict and timings;
    /// `faults` lists the faults armed now; `abort` is the kill switch: every fault is
    /// disarmed at once. Faults hold a lease: one nobody renews reverts by itself.
    #[command(subcommand)]
    Drill(drill::DrillCommand),
    /// Check and test Prometheus rule files (as `promtool check rules` / `test rules`).
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Rank the likely root causes of an alert on a running Taishan.
    ///
    /// Ranks the services and the calls between them (the service graph of the traces) by
    /// how their errors, latency, traffic and business series moved around the alert's start
    /// compared with the half hour before, following failures from callee to caller and
    /// earlier onsets first. Prints each suspect with its score and why; --at looks at
    /// another moment (RFC 3339 or Unix seconds) instead of the alert's activeAt.
    Rca(rca::RcaArgs),
    /// Show the audit trail of a running Taishan (admin): who changed what, from where
    /// and why (guards, faults, drills, silences, acknowledgements, reloads, TSDB admin,
    /// logins and failed logins, refused attempts), newest first.
    Audit(audit::AuditArgs),
    /// Run the anomaly detector over the Numenta Anomaly Benchmark and score it.
    ///
    /// Reads the corpus under --data (data/<category>/<file>.csv, labels/combined_windows.json,
    /// profiles.json), feeds every file to a fresh detector in time order (a row's score uses
    /// earlier rows only), writes OUT/<category>/<file>.csv with timestamp,value,anomaly_score,
    /// and prints NAB's three normalised scores (standard, reward low FP, reward low FN) beside
    /// the best published ones. --ablation also runs the ensemble without its linfa model;
    /// --holdout chooses the shared parameters on the odd-numbered files (name order) and
    /// scores them on the even-numbered ones.
    Nab(nab::NabArgs),
    /// Run Prometheus promqltest scripts against Taishan's PromQL engine.
    ///
    /// Each file's `load` data goes into a scratch store and every `eval` case is checked
    /// (same format and tolerance as Prometheus's own runner). Prints passed / failed /
    /// skipped per file and ends with `N passed, N failed, N skipped`; exits 1 when any
    /// case failed. Native-histogram cases are skipped, by name with --verbose.
    PromqlTest {
        /// Script files (`.test`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// List every skipped case and why.
        #[arg(long, short = 'v')]
        verbose: bool,
    },
}

/// Where the server is and as whom to ask.
#[derive(Debug, Clone, clap::Args)]
pub struct Server {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:7070", env = "TAISHAN_URL")]
    pub url: String,
    /// Tenant (sent as X-Scope-OrgID).
    #[arg(long)]
    pub tenant: Option<String>,
    /// As whom to ask.
    #[command(flatten)]
    pub auth: client_auth::ClientAuth,
    /// How to print the answer.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: OutputFormat,
}

/// Output formats of `taishan query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per series (and per point for ranges).
    Table,
    /// The server's JSON answer, as is.
    Json,
}

impl Command {
    /// Whether it runs a server (which logs its life) rather than a one-shot command
    /// (which logs only its troubles).
    pub fn serves(&self) -> bool {
        matches!(self, Command::Up(_) | Command::Traffic(_))
    }

    /// Carries the command out.
    pub fn run(self) -> ExitCode {
        match self {
            Command::Check { files } => check::run(&files),
            Command::Query(args) => query::run(&args),
            Command::Traces(cmd) => telemetry::traces(&cmd),
            Command::Logs(cmd) => telemetry::logs(&cmd),
            Command::Traffic(args) => traffic::run(&args),
            Command::PromqlTest { files, verbose } => promql_test::run(&files, verbose),
            Command::Guards(cmd) => guards::run(&cmd),
            Command::Alerts(cmd) => alerts::run(&cmd),
            Command::Dashboards(cmd) => dashboards::run(&cmd),
            Command::Drill(cmd) => drill::run(&cmd),
            Command::Nab(args) => nab::run(&args),
            Command::Rca(args) => rca::run(&args),
            Command::Audit(args) => audit::run(&args),
            Command::Rules(cmd) => rules::run(&cmd),
            Command::Up(args) => up::run(args),
        }
    }
}
