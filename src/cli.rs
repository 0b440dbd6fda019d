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
    /// Serves ingest (remote write, Influx), the query API and /metrics on one HTTP port,
    /// scrapes the configured targets and itself, and stores everything under --data-dir.
    /// On shutdown the write-ahead log is flushed; every acknowledged write survives.
    Up(UpArgs),
    /// Check a config file and print every problem as file:line:column: field: message.
    ///
    /// Exits 0 when the file is valid, 1 when it is not.
    Check {
        /// The YAML config file.
        config: PathBuf,
    },
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
}
