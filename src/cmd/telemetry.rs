//! `taishan traces search|get` and `taishan logs search`: the trace and log APIs of a running
//! server, for a terminal.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{OutputFormat, Server};
use crate::cmd::api_client::get;

/// `taishan traces ...`
#[derive(Debug, clap::Subcommand)]
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
#[derive(Debug, clap::Subcommand)]
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

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The query parameters every search sends: the window back from now, the page size, and
/// the optional filters that were given.
fn search_params<'a>(
    since: &humantime::Duration,
    limit: usize,
    filters: &[(&'a str, &Option<String>)],
) -> Vec<(&'a str, String)> {
    let now = now_s();
    let mut params = vec![
        ("start", format!("{:.3}", now - since.as_secs_f64())),
        ("end", format!("{now:.3}")),
        ("limit", limit.to_string()),
    ];
    params.extend(
        filters
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v.clone()))),
    );
    params
}

fn finish(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("taishan: {}", crate::cmd::error_text::chain(&e));
            ExitCode::from(1)
        }
    }
}

fn rfc3339_ns(ns: &str) -> String {
    let ns: u64 = ns.parse().unwrap_or(0);
    humantime::format_rfc3339_millis(UNIX_EPOCH + std::time::Duration::from_nanos(ns)).to_string()
}

/// Runs `taishan traces ...`.
pub fn traces(cmd: &TracesCommand) -> ExitCode {
    match cmd {
        TracesCommand::Search {
            service,
            operation,
            tags,
            min_duration,
            max_duration,
            since,
            limit,
            server,
        } => {
            let mut params = search_params(
                since,
                *limit,
                &[
                    ("service", service),
                    ("operation", operation),
                    ("minDuration", min_duration),
                    ("maxDuration", max_duration),
                ],
            );
            if !tags.is_empty() {
                params.push(("tags", tags.join(" ")));
            }
            finish(
                get(server, "/api/search", &params).map(|v| match server.output {
                    OutputFormat::Json => format!("{v}\n"),
                    OutputFormat::Table => {
                        let mut out = String::new();
                        for t in v["traces"].as_array().into_iter().flatten() {
                            out.push_str(&format!(
                                "{}  {}  {:>9.1}ms  {:>3} spans {:>2} errors  {}: {}\n",
                                t["traceID"].as_str().unwrap_or_default(),
                                rfc3339_ns(t["startTimeUnixNano"].as_str().unwrap_or("0")),
                                t["durationMs"].as_f64().unwrap_or(0.0),
                                t["spanCount"],
                                t["errorCount"],
                                t["rootServiceName"].as_str().unwrap_or_default(),
                                t["rootTraceName"].as_str().unwrap_or_default(),
                            ));
                        }
                        if out.is_empty() {
                            out = "(no traces)\n".into();
                        }
                        out
                    }
                }),
            )
        }
        TracesCommand::Get { trace_id, server } => finish(
            get(server, &format!("/api/traces/{trace_id}"), &[]).map(|v| match server.output {
                OutputFormat::Json => format!("{v}\n"),
                OutputFormat::Table => trace_tree(&v),
            }),
        ),
    }
}

/// Spans as an indented tree: service, name, duration, status.
fn trace_tree(v: &Value) -> String {
    struct Row {
        id: String,
        parent: String,
        line: String,
        start: u64,
    }
    let mut rows = Vec::new();
    for rs in v["resourceSpans"].as_array().into_iter().flatten() {
        let service = rs["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or("unknown_service")
            .to_string();
        for span in rs["scopeSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|ss| ss["spans"].as_array().into_iter().flatten())
        {
            let num = |k: &str| {
                span[k]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .or_else(|| span[k].as_u64())
                    .unwrap_or(0)
            };
            let (start, end) = (num("startTimeUnixNano"), num("endTimeUnixNano"));
            let error =
                span["status"]["code"] == 2 || span["status"]["code"] == "STATUS_CODE_ERROR";
            rows.push(Row {
                id: span["spanId"].as_str().unwrap_or_default().to_string(),
                parent: span["parentSpanId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                line: format!(
                    "{service}: {}  {:.1}ms{}",
                    span["name"].as_str().unwrap_or_default(),
                    end.saturating_sub(start) as f64 / 1e6,
                    if error { "  ERROR" } else { "" }
                ),
                start,
            });
        }
    }
    rows.sort_by_key(|r| r.start);
    let mut out = String::new();
    fn walk(rows: &[Row], parent: &str, depth: usize, out: &mut String, seen: &mut Vec<String>) {
        for r in rows.iter().filter(|r| r.parent == parent) {
            if seen.contains(&r.id) {
                continue;
            }
            seen.push(r.id.clone());
            out.push_str(&format!("{}{}\n", "  ".repeat(depth), r.line));
            walk(rows, &r.id, depth + 1, out, seen);
        }
    }
    let mut seen = Vec::new();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    // Roots: spans whose parent is absent from the trace.
    let roots: Vec<String> = rows
        .iter()
        .filter(|r| !ids.contains(&r.parent))
        .map(|r| r.parent.clone())
        .collect();
    for p in roots {
        walk(&rows, &p, 0, &mut out, &mut seen);
    }
    out
}

/// Runs `taishan logs ...`.
pub fn logs(cmd: &LogsCommand) -> ExitCode {
    let LogsCommand::Search {
        service,
        severity,
        query,
        regex,
        attrs,
        trace_id,
        since,
        limit,
        server,
    } = cmd;
    let mut params = search_params(
        since,
        *limit,
        &[
            ("service", service),
            ("severity", severity),
            ("q", query),
            ("regex", regex),
            ("trace_id", trace_id),
        ],
    );
    for a in attrs {
        params.push(("attr", a.clone()));
    }
    finish(
        get(server, "/api/logs/search", &params).map(|v| match server.output {
            OutputFormat::Json => format!("{v}\n"),
            OutputFormat::Table => {
                let mut out = String::new();
                for l in v["lines"].as_array().into_iter().flatten() {
                    let trace = l["traceId"].as_str().unwrap_or_default();
                    out.push_str(&format!(
                        "{} {:<5} {}: {}{}\n",
                        rfc3339_ns(l["timeUnixNano"].as_str().unwrap_or("0")),
                        l["severityText"].as_str().unwrap_or_default(),
                        l["service"].as_str().unwrap_or_default(),
                        l["body"].as_str().unwrap_or_default(),
                        if trace.is_empty() {
                            String::new()
                        } else {
                            format!("  trace={trace}")
                        }
                    ));
                }
                if out.is_empty() {
                    out = "(no lines)\n".into();
                }
                out
            }
        }),
    )
}
