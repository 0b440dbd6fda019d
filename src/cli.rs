//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    Up(UpArgs),
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
    Query(QueryArgs),
    /// Find traces on a running Taishan, or show one.
    #[command(subcommand)]
    Traces(TracesCommand),
    /// Search the logs of a running Taishan, newest first.
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Drive simulated customers against the demo's gateway.
    ///
    /// Customers apply for credit, draw down and repay at --rate actions per second on
    /// average, following the day (busiest at --peak-hour UTC). Prints progress every 10
    /// seconds and a summary at the end; stops after --duration or --count, or on Ctrl-C.
    /// `taishan up` already runs this traffic unless started with --no-demo.
    Traffic(TrafficArgs),
    /// See and steer the services' guards through a running Taishan's control plane.
    ///
    /// Lists every guard with what its service reports, the rule's decision and the
    /// operator's; pins a breaker open, forces it closed, degrades, limits, or releases a
    /// guard (an operator's decision overrides the rules' until released); shows the audit
    /// log. Every change needs --reason, which the audit log keeps.
    #[command(subcommand)]
    Guards(GuardsCommand),
    /// Work with the alerter's Alertmanager config from a terminal.
    ///
    /// `route` prints where an alert with the given labels is routed: each matching route's
    /// receiver, its path through the tree with matchers, and its grouping and timers.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Dashboards as code: bring Grafana dashboards in, take Taishan's out to Grafana.
    #[command(subcommand)]
    Dashboards(DashboardsCommand),
    /// Fault-injection drills against a running Taishan's demo services.
    ///
    /// `run` carries out a drill file (drills/*.yaml) and prints its verdict and timings;
    /// `faults` lists the faults armed now; `abort` is the kill switch: every fault is
    /// disarmed at once. Faults hold a lease: one nobody renews reverts by itself.
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Check and test Prometheus rule files (as `promtool check rules` / `test rules`).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Rank the likely root causes of an alert on a running Taishan.
    ///
    /// Ranks the services and the calls between them (the service graph of the traces) by
    /// how their errors, latency, traffic and business series moved around the alert's start
    /// compared with the half hour before, following failures from callee to caller and
    /// earlier onsets first. Prints each suspect with its score and why; --at looks at
    /// another moment (RFC 3339 or Unix seconds) instead of the alert's activeAt.
    Rca(RcaArgs),
    /// Run the anomaly detector over the Numenta Anomaly Benchmark and score it.
    ///
    /// Reads the corpus under --data (data/<category>/<file>.csv, labels/combined_windows.json,
    /// profiles.json), feeds every file to a fresh detector in time order (a row's score uses
    /// earlier rows only), writes OUT/<category>/<file>.csv with timestamp,value,anomaly_score,
    /// and prints NAB's three normalised scores (standard, reward low FP, reward low FN) beside
    /// the best published ones. --ablation also runs the ensemble without its linfa model;
    /// --holdout chooses the shared parameters on the odd-numbered files (name order) and
    /// scores them on the even-numbered ones.
    Nab(NabArgs),
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

/// Options of `taishan query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The PromQL expression.
    pub expr: String,
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:7070", env = "TAISHAN_URL")]
    pub url: String,
    /// Evaluation time of an instant query: RFC 3339 or Unix seconds (default: now).
    #[arg(long, conflicts_with_all = ["start", "end", "step"])]
    pub time: Option<String>,
    /// Start of a range query: RFC 3339 or Unix seconds.
    #[arg(long, requires_all = ["end", "step"])]
    pub start: Option<String>,
    /// End of a range query: RFC 3339 or Unix seconds.
    #[arg(long, requires = "start")]
    pub end: Option<String>,
    /// Resolution of a range query, e.g. `15s`, `1m`.
    #[arg(long, requires = "start")]
    pub step: Option<String>,
    /// Tenant to query (sent as X-Scope-OrgID).
    #[arg(long)]
    pub tenant: Option<String>,
    /// How to print the answer.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// Give up after this long.
    #[arg(long, default_value = "2m")]
    pub timeout: humantime::Duration,
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
    /// How to print the answer.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: OutputFormat,
}

/// Which guard, why, and who says so.
#[derive(Debug, clap::Args)]
pub struct GuardChange {
    /// The service (`payment`, `risk`, `gateway`, or an external app's name).
    pub service: String,
    /// The guard's name within it (`bank-a`, `risk-model`, ...).
    pub guard: String,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: String,
    /// Who decides (default: $USER).
    #[arg(long, env = "USER", default_value = "operator")]
    pub who: String,
    #[command(flatten)]
    pub server: Server,
}

/// `taishan guards ...`
#[derive(Debug, Subcommand)]
pub enum GuardsCommand {
    /// Every guard: reported state, the decision in force, and who made it.
    List {
        #[command(flatten)]
        server: Server,
    },
    /// Pin a breaker open (no probing) until released.
    Open(GuardChange),
    /// Force a breaker closed (no tripping) until released.
    Close(GuardChange),
    /// Put a breaker half-open: its probe calls decide.
    HalfOpen(GuardChange),
    /// Switch a degrade flag on.
    Degrade(GuardChange),
    /// Switch a degrade flag off.
    Undegrade(GuardChange),
    /// Put a rate limit in force instead of the configured one.
    Limit {
        #[command(flatten)]
        change: GuardChange,
        /// Calls per second.
        #[arg(long)]
        rate: f64,
        /// Calls allowed at once (default: one second's worth).
        #[arg(long)]
        burst: Option<u32>,
    },
    /// Hand a guard back to its own logic (and the rules): drops every decision on it.
    Release {
        #[command(flatten)]
        change: GuardChange,
        /// Close an open breaker at once instead of probing first.
        #[arg(long)]
        no_probe: bool,
    },
    /// The audit log, newest first.
    Audit {
        /// Only this service's guards.
        #[arg(long)]
        service: Option<String>,
        /// Only this guard.
        #[arg(long)]
        guard: Option<String>,
        /// Most entries shown.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        server: Server,
    },
}

/// `taishan drill ...`
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Run a drill: check its steady state, inject its faults on schedule, time detection,
    /// notification, stop-loss and recovery, then prove the money (ledger balanced, nothing
    /// paid twice, every payment final, compensation drained, reconciliation clean).
    ///
    /// Progress goes to stderr; the report to stdout (`-o json` for the JSON report). Exits
    /// 0 when the drill passes, 1 when it fails, 2 when the file is wrong. Ctrl-C stops the
    /// drill and reverts its faults; if this process is killed, the faults revert by
    /// themselves when their lease (15 s) runs out.
    Run {
        /// The drill file (YAML; see drills/bank-channel-outage.yaml).
        file: PathBuf,
        /// Hold every fault this long instead of the file's durations (a shorter rehearsal;
        /// e.g. `45s`).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
        /// How long the books may take to settle after recovery (every payment of the drill
        /// final, compensation drained) before the money proof is read.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
        settle: std::time::Duration,
        /// How long the steady state may take to hold before the faults.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "2m")]
        steady_wait: std::time::Duration,
        #[command(flatten)]
        server: Server,
    },
    /// The faults armed now: kind, scope, who armed them, until when their lease holds.
    Faults {
        #[command(flatten)]
        server: Server,
    },
    /// The kill switch: disarm every fault at once. Prints how many there were.
    Abort {
        #[command(flatten)]
        server: Server,
    },
}

/// `taishan dashboards ...`
#[derive(Debug, Subcommand)]
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

/// `taishan alerts ...`
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Show where an alert with --labels is routed by --config: receivers, route path,
    /// grouping and timers. Exits 1 when the config is refused or the labels are bad.
    Route {
        /// An alertmanager.yml.
        #[arg(long)]
        config: PathBuf,
        /// The alert's labels, `name=value,name=value`.
        #[arg(long)]
        labels: String,
        /// Taishan's on-call file: for a route to a team, also who would be paged now.
        #[arg(long)]
        oncall: Option<PathBuf>,
    },
    /// Acknowledge alerts on a running alerter: they stop paging and escalating until
    /// they resolve. Give --incident, --filter matchers, or fingerprints.
    Ack(AlertActionArgs),
    /// Resolve alerts on a running alerter now (a source still firing fires them again).
    Resolve(AlertActionArgs),
    /// Run batches of routing cases (alerts at a moment → receivers, who is paged,
    /// inhibitions) against an alertmanager.yml and on-call file; prints PASS/FAIL with
    /// the differences, exits 1 when a case fails. See `alerts_test_cmd` for the format.
    Test {
        /// Test files (YAML: config, oncall, tests).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The alert history of a running alerter: firing, resolved, notified, paged,
    /// escalated, acknowledged, newest first.
    History(AlertHistoryArgs),
    /// Run the recorded alert history through a changed config: who would have been
    /// notified and paged, against who was. Prints one line per alert that differs.
    Replay {
        /// The changed alertmanager.yml.
        #[arg(long)]
        config: PathBuf,
        /// The changed on-call file, if routes name teams.
        #[arg(long)]
        oncall: Option<PathBuf>,
        /// How far back (e.g. 7d, 12h).
        #[arg(long, default_value = "7d")]
        since: humantime::Duration,
        /// The alerter whose history is replayed.
        #[arg(
            long,
            default_value = "http://127.0.0.1:9093",
            env = "TAISHAN_ALERTER_URL"
        )]
        alerter: String,
    },
}

/// Filters of `taishan alerts history`.
#[derive(Debug, clap::Args)]
pub struct AlertHistoryArgs {
    /// An alert: its fingerprint or its alertname.
    #[arg(long)]
    pub alert: Option<String>,
    /// The `service` label.
    #[arg(long)]
    pub service: Option<String>,
    /// The on-call team.
    #[arg(long)]
    pub team: Option<String>,
    /// The person paged or acknowledging.
    #[arg(long)]
    pub person: Option<String>,
    /// One kind: firing, resolved, notified, failed, paged, escalated, acknowledged,
    /// resolved_by_hand.
    #[arg(long)]
    pub kind: Option<String>,
    /// How far back (e.g. 24h, 7d).
    #[arg(long, default_value = "24h")]
    pub since: humantime::Duration,
    /// At most this many rows.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'o', default_value = "table")]
    pub output: String,
    /// The alerter.
    #[arg(
        long,
        default_value = "http://127.0.0.1:9093",
        env = "TAISHAN_ALERTER_URL"
    )]
    pub alerter: String,
}

/// Which alerts `ack` and `resolve` act on, and who acts.
#[derive(Debug, clap::Args)]
pub struct AlertActionArgs {
    /// Who acts (recorded with the acknowledgement).
    #[arg(long)]
    pub by: String,
    /// Why, or what is being done.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// The incident (as in its page and GET /api/taishan/v1/incidents).
    #[arg(long, conflicts_with_all = ["filter", "fingerprints"])]
    pub incident: Option<String>,
    /// Matchers over the firing alerts, e.g. 'service="payment"' (repeatable).
    #[arg(long, conflicts_with = "fingerprints")]
    pub filter: Vec<String>,
    /// The alerts' fingerprints (16 hex digits).
    pub fingerprints: Vec<String>,
    /// The alerter.
    #[arg(
        long,
        default_value = "http://127.0.0.1:9093",
        env = "TAISHAN_ALERTER_URL"
    )]
    pub alerter: String,
}

/// `taishan rules ...`
#[derive(Debug, Subcommand)]
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

/// `taishan traces ...`
#[derive(Debug, Subcommand)]
pub enum TracesCommand {
    /// Traces with a span matching every filter, newest first.
    Search {
        /// A span of this service.
        #[arg(long)]
        service: Option<String>,
        /// A span with this name.
        #[arg(long)]
        operation: Option<String>,
        /// Span or resource attribute equality, `key=value` (repeatable); `status=error`
        /// selects failed traces.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A matching span lasting at least this long (`250ms`, `2s`).
        #[arg(long)]
        min_duration: Option<String>,
        /// A matching span lasting at most this long.
        #[arg(long)]
        max_duration: Option<String>,
        /// How far back to look.
        #[arg(long, default_value = "1h")]
        since: humantime::Duration,
        /// Most traces shown.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        server: Server,
    },
    /// Every span of one trace, as a tree.
    Get {
        /// The trace id (32 hex digits).
        trace_id: String,
        #[command(flatten)]
        server: Server,
    },
}

/// `taishan logs ...`
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Lines matching every filter, newest first.
    Search {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// At least this severity (`info`, `warn`, `error`, or 1-24).
        #[arg(long)]
        severity: Option<String>,
        /// The body contains this text.
        #[arg(long, short = 'q')]
        query: Option<String>,
        /// The body matches this regular expression.
        #[arg(long)]
        regex: Option<String>,
        /// Attribute equality, `key=value` (repeatable).
        #[arg(long = "attr")]
        attrs: Vec<String>,
        /// Only lines of this trace.
        #[arg(long)]
        trace_id: Option<String>,
        /// How far back to look.
        #[arg(long, default_value = "1h")]
        since: humantime::Duration,
        /// Most lines shown.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        server: Server,
    },
}

/// Options of `taishan rca`.
#[derive(Debug, clap::Args)]
pub struct RcaArgs {
    /// The alert's name (its `alertname`).
    pub alert: String,
    /// When the incident began (RFC 3339 or Unix seconds); default: when the alert became active.
    #[arg(long)]
    pub at: Option<String>,
    #[command(flatten)]
    pub server: Server,
}

/// Options of `taishan nab`.
#[derive(Debug, clap::Args)]
pub struct NabArgs {
    /// The corpus: a folder with data/, labels/ and profiles.json.
    #[arg(long, default_value = "../shared/bench/nab")]
    pub data: std::path::PathBuf,
    /// Where the per-file results go (created if missing).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// A detector configuration (YAML, as `analyzer.detector` in the config); default: the
    /// ensemble with its default parameters.
    #[arg(long)]
    pub detector: Option<std::path::PathBuf>,
    /// Also score the ensemble without its linfa mixture model.
    #[arg(long)]
    pub ablation: bool,
    /// Also run the held-out check (27 candidates on half the corpus; a minute or two).
    #[arg(long)]
    pub holdout: bool,
    /// Files scored at once (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// `table` for people, `json` for scripts.
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

/// Options of `taishan up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// YAML config file (see README "Configuration"); defaults apply when omitted.
    #[arg(long, short = 'c', env = "TAISHAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the write-ahead log and blocks.
    #[arg(long, default_value = "./data", env = "TAISHAN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Address for the HTTP API, ingest and /metrics (overrides server.http_listen).
    /// Port 0 picks a free port, printed at start-up.
    #[arg(long, env = "TAISHAN_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Do not run the demo services and their traffic (same as `demo.enabled: false`).
    #[arg(long, env = "TAISHAN_NO_DEMO")]
    pub no_demo: bool,
    /// An unchanged `alertmanager.yml` for the alerter (overrides alerter.config_file);
    /// without one, alerts are grouped and shown on :9093 but notified to nobody.
    #[arg(long, env = "TAISHAN_ALERTER_CONFIG")]
    pub alerter_config: Option<PathBuf>,
    /// Taishan's on-call file: teams, schedules, escalation policies and service ownership
    /// (overrides alerter.oncall_file); routes may then name a team as their receiver.
    #[arg(long, env = "TAISHAN_ALERTER_ONCALL")]
    pub alerter_oncall: Option<PathBuf>,
    /// Another replica of the alerter (its API URL; repeatable, added to alerter.peers):
    /// replicas share the notification log, silences and acknowledgements and deliver in
    /// turn, so a notification goes out once while any of them lives.
    #[arg(long = "alerter-peer", value_name = "URL")]
    pub alerter_peers: Vec<String>,
    /// Address of the Alertmanager-compatible API (overrides alerter.listen). Port 0 picks
    /// a free port, printed at start-up.
    #[arg(long, env = "TAISHAN_ALERTER_LISTEN")]
    pub alerter_listen: Option<SocketAddr>,
    /// A directory of your own dashboards (YAML, see README "Dashboards"), served beside
    /// the built-in ones and read again when a file changes; a file named like a built-in
    /// dashboard replaces it.
    #[arg(long, env = "TAISHAN_DASHBOARDS", value_name = "DIR")]
    pub dashboards: Option<PathBuf>,
}

/// Options of `taishan traffic`.
#[derive(Debug, clap::Args)]
pub struct TrafficArgs {
    /// Base URL of the demo gateway.
    #[arg(long, default_value = "http://127.0.0.1:7100")]
    pub gateway: String,
    /// API key sent as X-Api-Key.
    #[arg(long, default_value = "demo-mobile-app")]
    pub api_key: String,
    /// Customer actions per second at the daily average.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
    /// How far the rate swings over the day, 0 (flat) to 1.
    #[arg(long, default_value_t = 0.6)]
    pub daily_amplitude: f64,
    /// Hour of the day (UTC) when traffic peaks.
    #[arg(long, default_value_t = 6)]
    pub peak_hour: u8,
    /// Customers in the simulated population.
    #[arg(long, default_value_t = 2000)]
    pub customers: u32,
    /// Stop after this long (`30s`, `10m`); default: until Ctrl-C.
    #[arg(long)]
    pub duration: Option<humantime::Duration>,
    /// Stop after this many actions.
    #[arg(long)]
    pub count: Option<u64>,
    /// Seed of the random choices, for a repeatable run.
    #[arg(long)]
    pub seed: Option<u64>,
}
