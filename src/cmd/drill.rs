//! `taishan drill run|faults|abort`: a drill against a running Taishan, the faults armed
//! on it, and the kill switch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};
use taishan_chaos::drill::{parse_drill, run_drill, DrillReport, RunOptions, Verdict};
use taishan_core::SystemClock;

use super::{OutputFormat, Server};
use crate::cmd::api_client;
use taishan_chaos::api::HttpPlatform;

/// `taishan drill ...`
#[derive(Debug, clap::Subcommand)]
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

/// Runs the subcommand.
pub fn run(cmd: &DrillCommand) -> ExitCode {
    let done = match cmd {
        DrillCommand::Run {
            file,
            server,
            duration,
            settle,
            steady_wait,
        } => {
            let opts = RunOptions {
                settle: *settle,
                steady_wait: *steady_wait,
                progress: Arc::new(|line: &str| eprintln!("drill: {line}")),
                ..RunOptions::default()
            };
            return run_file(file, server, *duration, opts);
        }
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
            eprintln!("taishan: {}", crate::cmd::error_text::chain(&e));
            ExitCode::from(1)
        }
    }
}

fn run_file(
    file: &Path,
    server: &Server,
    duration: Option<std::time::Duration>,
    opts: RunOptions,
) -> ExitCode {
    let shown = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("taishan: {shown}: {e}");
            return ExitCode::from(2);
        }
    };
    let spec = match parse_drill(&shown, &text) {
        Ok(s) => match duration {
            Some(d) => s.with_fault_duration(d),
            None => s,
        },
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("taishan: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let stop = opts.stop.clone();
    let reached = server.auth.async_client().and_then(|client| {
        let authorization = server.auth.authorization()?.map(taishan_core::Secret::new);
        Ok(HttpPlatform::new(&server.url, client).with_authorization(authorization))
    });
    let platform = match reached {
        Ok(platform) => platform,
        Err(e) => {
            eprintln!("taishan: {}", crate::cmd::error_text::chain(&e));
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(async {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("drill: stopping: reverting the faults");
                stop.store(true, Ordering::Relaxed);
            }
        });
        run_drill(&spec, &platform, &SystemClock, &opts).await
    });
    record(server, &report);
    match server.output {
        OutputFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("taishan: {e}"),
        },
        OutputFormat::Table => print_report(&report),
    }
    match report.verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(1),
    }
}

/// Keeps the report in the server's drill history (the drills page shows it).
fn record(server: &Server, report: &DrillReport) {
    let body = match serde_json::to_value(report) {
        Ok(v) => v,
        Err(e) => return eprintln!("drill: the report could not be recorded: {e}"),
    };
    match api_client::post(server, "/api/v1/chaos/reports", &body) {
        Ok(v) => eprintln!(
            "drill: recorded as {0}: {1}/ui/drills?report={0}",
            v["data"]["id"].as_str().unwrap_or("?"),
            server.url.trim_end_matches('/')
        ),
        Err(e) => eprintln!(
            "drill: the report could not be recorded: {}",
            crate::cmd::error_text::chain(&e)
        ),
    }
}

fn print_report(r: &DrillReport) {
    let verdict = match r.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    println!("drill {}: {verdict} (score {:.1})", r.drill, r.score);
    let secs = |s: Option<f64>| s.map_or("never".to_string(), |s| format!("{s:.1} s"));
    println!("  injected into       {}", r.injected_service);
    println!("  time to detect      {}", secs(r.time_to_detect_seconds));
    println!("  time to notify      {}", secs(r.time_to_notify_seconds));
    println!(
        "  time to stop loss   {}",
        secs(r.time_to_stop_loss_seconds)
    );
    println!("  time to recover     {}", secs(r.time_to_recover_seconds));
    println!(
        "  failed amount       {:.2} (refused, not lost)",
        r.failed_amount
    );
    println!("  money lost          {:.2}", r.money_lost);
    println!(
        "  reconciliation      {} difference(s) worth {:.2}",
        r.reconciliation_differences, r.money.reconciliation_difference_amount
    );
    for reason in &r.reasons {
        println!("  - {reason}");
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
