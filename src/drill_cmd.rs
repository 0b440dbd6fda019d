//! `taishan drill faults|abort`: the faults armed on a running Taishan, and the kill switch.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::api_client;
use crate::cli::DrillCommand;

/// Runs the subcommand.
pub fn run(cmd: &DrillCommand) -> ExitCode {
    let done = match cmd {
        DrillCommand::Faults { server } => {
            api_client::get(server, "/api/v1/chaos/faults", &[]).map(|v| print_faults(&v))
        }
        DrillCommand::Abort { server } => {
            api_client::post(server, "/api/v1/chaos/abort", &json!({})).map(|v| {
                let n = v["data"]["disarmed"].as_u64().unwrap_or(0);
                println!("{n} fault(s) disarmed; the services are clean");
            })
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taishan: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print_faults(v: &Value) {
    let faults = v["data"]["faults"].as_array().cloned().unwrap_or_default();
    if faults.is_empty() {
        println!("no fault armed");
        return;
    }
    println!(
        "{:<6} {:<9} {:<32} {:<20} lease until",
        "id", "kind", "scope", "by"
    );
    for f in faults {
        let scope = &f["scope"];
        let text = |k: &str| {
            scope[k]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| format!("{k}={s}"))
        };
        let mut parts: Vec<String> = ["service", "route", "channel"]
            .iter()
            .filter_map(|k| text(k))
            .collect();
        if scope["percent"].as_f64().is_some_and(|p| p < 100.0) {
            parts.push(format!("{}%", scope["percent"]));
        }
        let until = f["lease_until_ms"].as_i64().unwrap_or(0);
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(until.max(0) as u64);
        let until = humantime::format_rfc3339_seconds(at).to_string();
        println!(
            "{:<6} {:<9} {:<32} {:<20} {until}",
            f["id"].as_str().unwrap_or(""),
            f["spec"]["kind"].as_str().unwrap_or(""),
            if parts.is_empty() {
                "everything".to_string()
            } else {
                parts.join(" ")
            },
            f["by"].as_str().unwrap_or(""),
        );
    }
}
