//! `taishan guards ...`: the guard control plane of a running Taishan, for a terminal.

use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{OutputFormat, Server};
use crate::cmd::api_client::{get, post};

/// `taishan guards ...`
#[derive(Debug, clap::Subcommand)]
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

/// Runs one guards command; exit 1 when the server refuses or cannot be reached.
pub fn run(cmd: &GuardsCommand) -> ExitCode {
    let result = match cmd {
        GuardsCommand::List { server } => list(server),
        GuardsCommand::Open(c) => change(c, json!({"command": "open_breaker"})),
        GuardsCommand::Close(c) => change(c, json!({"command": "close_breaker"})),
        GuardsCommand::HalfOpen(c) => change(c, json!({"command": "half_open_breaker"})),
        GuardsCommand::Degrade(c) => change(c, json!({"command": "degrade"})),
        GuardsCommand::Undegrade(c) => change(c, json!({"command": "undegrade"})),
        GuardsCommand::Limit {
            change: c,
            rate,
            burst,
        } => change(
            c,
            json!({"command": "set_rate_limit", "rate": rate, "burst": burst}),
        ),
        GuardsCommand::Release {
            change: c,
            no_probe,
        } => change(c, json!({"command": "release", "probe": !no_probe})),
        GuardsCommand::Audit {
            service,
            guard,
            limit,
            server,
        } => audit(server, service, guard, *limit),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("taishan guards: {}", crate::cmd::error_text::chain(&e));
            ExitCode::from(1)
        }
    }
}

fn time(ms: &Value) -> String {
    match ms.as_i64() {
        Some(ms) if ms > 0 => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms as u64))
                .to_string()
        }
        _ => "-".into(),
    }
}

/// `open_breaker by rule BankChannelFailing` / `... by operator alice`.
fn decision(d: &Value) -> String {
    if d.is_null() {
        return "-".into();
    }
    let by = match d["source"]["kind"].as_str() {
        Some("rule") => format!("rule {}", d["source"]["alert"].as_str().unwrap_or("?")),
        _ => format!("operator {}", d["source"]["who"].as_str().unwrap_or("?")),
    };
    format!(
        "{} by {by} at {}",
        d["command"]["command"].as_str().unwrap_or("?"),
        time(&d["at_ms"])
    )
}

fn list(server: &Server) -> anyhow::Result<String> {
    let v = get(server, "/api/v1/guards", &[])?;
    if server.output == OutputFormat::Json {
        return Ok(format!("{v}\n"));
    }
    let mut out = String::new();
    let guards = v["data"]["guards"].as_array().cloned().unwrap_or_default();
    if guards.is_empty() {
        return Ok("no guard has reported to the control plane yet\n".into());
    }
    out.push_str(&format!(
        "{:<28} {:<12} {:<10} {}\n",
        "GUARD", "KIND", "STATE", "IN FORCE"
    ));
    for g in guards {
        let name = format!(
            "{}/{}",
            g["target"]["service"].as_str().unwrap_or("?"),
            g["target"]["guard"].as_str().unwrap_or("?")
        );
        let in_force = if g["manual"].is_null() {
            decision(&g["automatic"])
        } else {
            let waiting = if g["automatic"].is_null() {
                String::new()
            } else {
                format!(" (overrides {})", decision(&g["automatic"]))
            };
            format!("{}{waiting}", decision(&g["manual"]))
        };
        out.push_str(&format!(
            "{:<28} {:<12} {:<10} {}\n",
            name,
            g["reported"]["kind"].as_str().unwrap_or("-"),
            g["reported"]["state"].as_str().unwrap_or("-"),
            in_force
        ));
    }
    Ok(out)
}

fn change(c: &GuardChange, mut body: Value) -> anyhow::Result<String> {
    body["reason"] = json!(c.reason);
    body["who"] = json!(c.who);
    let path = format!("/api/v1/guards/{}/{}", c.service, c.guard);
    let v = post(&c.server, &path, &body)?;
    if c.server.output == OutputFormat::Json {
        return Ok(format!("{v}\n"));
    }
    let g = &v["data"]["guard"];
    Ok(format!(
        "{}/{}: {} (was reported {})\n",
        c.service,
        c.guard,
        g["directive"]["command"]["command"].as_str().unwrap_or("?"),
        g["reported"]["state"].as_str().unwrap_or("unknown")
    ))
}

fn audit(
    server: &Server,
    service: &Option<String>,
    guard: &Option<String>,
    limit: usize,
) -> anyhow::Result<String> {
    let mut params = vec![("limit", limit.to_string())];
    if let Some(s) = service {
        params.push(("service", s.clone()));
    }
    if let Some(g) = guard {
        params.push(("guard", g.clone()));
    }
    let v = get(server, "/api/v1/guards/audit", &params)?;
    if server.output == OutputFormat::Json {
        return Ok(format!("{v}\n"));
    }
    let mut out = String::new();
    for e in v["data"]["entries"].as_array().cloned().unwrap_or_default() {
        let at = time(&e["at_ms"]);
        let line = match e["event"].as_str() {
            Some("decided") => {
                let d = &e["decision"];
                format!(
                    "{}/{} {}{}: {}",
                    d["target"]["service"].as_str().unwrap_or("?"),
                    d["target"]["guard"].as_str().unwrap_or("?"),
                    decision(d),
                    if e["in_force"] == true {
                        ""
                    } else {
                        " (waiting behind an operator's)"
                    },
                    d["reason"].as_str().unwrap_or("")
                )
            }
            Some("applied") => format!(
                "{}/{} {} {}",
                e["target"]["service"].as_str().unwrap_or("?"),
                e["target"]["guard"].as_str().unwrap_or("?"),
                e["command"]["command"].as_str().unwrap_or("?"),
                match e["error"].as_str() {
                    Some(err) => format!("could not be applied: {err}"),
                    None => "applied".into(),
                }
            ),
            _ => format!(
                "{}/{} reported {} -> {}",
                e["target"]["service"].as_str().unwrap_or("?"),
                e["target"]["guard"].as_str().unwrap_or("?"),
                e["from"].as_str().unwrap_or("?"),
                e["to"].as_str().unwrap_or("?")
            ),
        };
        out.push_str(&format!("{:>6} {at} {line}\n", e["seq"]));
    }
    Ok(out)
}
