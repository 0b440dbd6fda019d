//! `taishan audit`: the audit trail of a running Taishan, newest first.

use std::process::ExitCode;

use serde_json::Value;

use super::api_client;
use super::Server;

/// Options of `taishan audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The server, and as whom to ask (an admin).
    #[command(flatten)]
    pub server: Server,
    /// Only this kind: guards, faults, drills, silences, incidents, reloads, tsdb, logins,
    /// refused, other.
    #[arg(long)]
    pub kind: Option<String>,
    /// How many records.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// Prints the records, or why they could not be read.
pub fn run(args: &AuditArgs) -> ExitCode {
    let mut params = vec![("limit", args.limit.to_string())];
    params.extend(args.kind.clone().map(|k| ("kind", k)));
    match api_client::get(&args.server, "/api/v1/audit", &params) {
        Ok(v) if args.server.output == super::OutputFormat::Json => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Ok(v) => {
            print_records(v["data"].as_array().map_or(&[][..], Vec::as_slice));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("taishan audit: {}", super::error_text::chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn print_records(records: &[Value]) {
    if records.is_empty() {
        println!("no audit records");
        return;
    }
    println!(
        "{:<24} {:<10} {:<16} {:<22} {:<6} {:<44} WHY",
        "WHEN", "KIND", "WHO", "FROM", "STATUS", "WHAT"
    );
    for r in records {
        let at = r["at_ms"].as_i64().unwrap_or(0).max(0) as u64;
        let when = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(at),
        );
        let text = |k: &str| r[k].as_str().unwrap_or("").to_string();
        println!(
            "{:<24} {:<10} {:<16} {:<22} {:<6} {:<44} {}",
            when.to_string(),
            text("kind"),
            text("who"),
            text("source"),
            r["status"],
            text("what"),
            text("why")
        );
    }
}
