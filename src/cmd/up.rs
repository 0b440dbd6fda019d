//! `taishan up`: the whole platform in this process (the composition is `crate::up`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// A web config in Prometheus's format (`--web.config.file`: TLS, bcrypt basic-auth
    /// users) with Taishan's identities under `taishan:` (roles and tenants of users,
    /// bearer tokens); every listener then asks for credentials. Overrides
    /// server.web_config; re-read on SIGHUP.
    #[arg(long, env = "TAISHAN_WEB_CONFIG", value_name = "FILE")]
    pub web_config: Option<PathBuf>,
    /// Serve on a non-loopback address without a web config (anyone who reaches the port
    /// may act: open breakers, arm faults, silence alerts). Refused without this flag.
    #[arg(long)]
    pub insecure_listen: bool,
    /// Serve TSDB administration over HTTP (/api/v1/admin/tsdb/*), as Prometheus's
    /// --web.enable-admin-api. On by default only while every listener is on loopback
    /// (server.enable_admin_api decides otherwise).
    #[arg(long)]
    pub enable_admin_api: bool,
    /// Serve reload over HTTP (POST /-/reload), as Prometheus's --web.enable-lifecycle.
    /// On by default only while every listener is on loopback (server.enable_lifecycle
    /// decides otherwise); SIGHUP reloads either way.
    #[arg(long)]
    pub enable_lifecycle: bool,
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

/// Runs the platform until Ctrl-C or SIGTERM.
pub fn run(args: UpArgs) -> ExitCode {
    match crate::up::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taishan: {}", super::error_text::chain(&e));
            ExitCode::FAILURE
        }
    }
}
