//! `taishan rca ALERT`: the likely root causes of an alert, from a running Taishan.

use std::process::ExitCode;

use serde_json::Value;

use super::{OutputFormat, Server};
use crate::cmd::api_client;

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

/// Runs the subcommand.
pub fn run(args: &RcaArgs) -> ExitCode {
    let mut params = vec![("alertname", args.alert.clone())];
    if let Some(at) = &args.at {
        params.push(("at", at.clone()));
    }
    match api_client::get(&args.server, "/api/v1/analyzer/rca", &params) {
        Ok(answer) => {
            match args.server.output {
                OutputFormat::Json => println!("{answer:#}"),
                OutputFormat::Table => print!("{}", render(&args.alert, &answer["data"])),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("taishan rca: {}", crate::cmd::error_text::chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The ranking as people read it: rank, score, suspect, then its reasons indented.
pub fn render(alert: &str, data: &Value) -> String {
    let mut out = String::new();
    let ranking = data["ranking"].as_array().cloned().unwrap_or_default();
    let focus: Vec<&str> = data["focus"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if focus.is_empty() {
        out.push_str(&format!("likely root causes of {alert}:\n"));
    } else {
        let about = focus.join(", ");
        out.push_str(&format!("likely root causes of {alert} (about {about}):\n"));
    }
    if ranking.is_empty() {
        out.push_str("  nothing moved: no service or call left its baseline around the alert\n");
    }
    for (i, r) in ranking.iter().enumerate() {
        out.push_str(&format!(
            "{:>3}. {:<32} {:.2}\n",
            i + 1,
            r["name"].as_str().unwrap_or("?"),
            r["score"].as_f64().unwrap_or(0.0)
        ));
        for reason in r["reasons"].as_array().into_iter().flatten() {
            out.push_str(&format!("       {}\n", reason.as_str().unwrap_or("")));
        }
    }
    for p in data["problems"].as_array().into_iter().flatten() {
        out.push_str(&format!("(not looked at: {})\n", p.as_str().unwrap_or("")));
    }
    out
}
