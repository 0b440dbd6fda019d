//! `taishan query EXPR`: a PromQL question to a running server, answered as a table or JSON.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::Value;

use super::OutputFormat;

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
    /// As whom to ask.
    #[command(flatten)]
    pub auth: super::client_auth::ClientAuth,
    /// How to print the answer.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// Give up after this long.
    #[arg(long, default_value = "2m")]
    pub timeout: humantime::Duration,
}

/// Sends the query and prints the answer; exit code 1 on any error.
pub fn run(args: &QueryArgs) -> ExitCode {
    match ask(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("taishan query: {}", crate::cmd::error_text::chain(&e));
            ExitCode::from(1)
        }
    }
}

/// A time flag as Unix seconds: RFC 3339 or a number.
fn unix_seconds(flag: &str, value: &str) -> anyhow::Result<String> {
    if value.parse::<f64>().is_ok() {
        return Ok(value.to_string());
    }
    let t = humantime::parse_rfc3339_weak(value)
        .with_context(|| format!("--{flag} {value:?} is neither RFC 3339 nor Unix seconds"))?;
    let Ok(d) = t.duration_since(UNIX_EPOCH) else {
        bail!("--{flag} {value:?} is before 1970");
    };
    Ok(format!("{:.3}", d.as_secs_f64()))
}

fn ask(args: &QueryArgs) -> anyhow::Result<String> {
    let mut form: Vec<(&str, String)> = vec![("query", args.expr.clone())];
    let path = if let Some(start) = &args.start {
        let (Some(end), Some(step)) = (&args.end, &args.step) else {
            bail!("a range query needs --start, --end and --step");
        };
        form.push(("start", unix_seconds("start", start)?));
        form.push(("end", unix_seconds("end", end)?));
        form.push(("step", step.clone()));
        "/api/v1/query_range"
    } else {
        let time = match &args.time {
            Some(t) => unix_seconds("time", t)?,
            None => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .context("the system clock is before 1970")?;
                format!("{:.3}", now.as_secs_f64())
            }
        };
        form.push(("time", time));
        "/api/v1/query"
    };
    let client = args.auth.client(Some(*args.timeout))?;
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let mut req = args.auth.apply(client.post(&url).form(&form))?;
    if let Some(t) = &args.tenant {
        req = req.header(taishan_core::TENANT_HEADER, t);
    }
    let resp = req.send().with_context(|| url.clone())?;
    let status = resp.status();
    let body = resp
        .text()
        .with_context(|| format!("{url}: reading the answer"))?;
    let v: Value = serde_json::from_str(&body)
        .with_context(|| format!("{url} answered {status} with a body that is not JSON: {body}"))?;
    if v["status"] != "success" {
        bail!(
            "{} ({status}): {}",
            v["errorType"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or(&body)
        );
    }
    let mut out = match args.output {
        OutputFormat::Json => format!("{body}\n"),
        OutputFormat::Table => table(&v["data"]),
    };
    for key in ["warnings", "infos"] {
        if let Some(list) = v[key].as_array() {
            for w in list {
                eprintln!(
                    "{}: {}",
                    key.trim_end_matches('s'),
                    w.as_str().unwrap_or_default()
                );
            }
        }
    }
    if out.is_empty() {
        out = "(no data)\n".into();
    }
    Ok(out)
}

fn metric(m: &Value) -> String {
    let Some(obj) = m.as_object() else {
        return "{}".into();
    };
    let name = obj.get("__name__").and_then(Value::as_str).unwrap_or("");
    let labels: Vec<String> = obj
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={}", v))
        .collect();
    format!("{name}{{{}}}", labels.join(", "))
}

fn point(p: &Value) -> String {
    format!(
        "{} @{}",
        p[1].as_str().unwrap_or_default(),
        p[0].as_f64().map_or_else(String::new, |t| t.to_string())
    )
}

/// The answer as lines: `series value @time`, or a series per block for matrices.
fn table(data: &Value) -> String {
    let mut out = String::new();
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("vector") => {
            for s in result.as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "{} => {}\n",
                    metric(&s["metric"]),
                    point(&s["value"])
                ));
            }
        }
        Some("matrix") => {
            for s in result.as_array().into_iter().flatten() {
                out.push_str(&format!("{} =>\n", metric(&s["metric"])));
                for p in s["values"].as_array().into_iter().flatten() {
                    out.push_str(&format!("  {}\n", point(p)));
                }
            }
        }
        Some("scalar") | Some("string") => {
            out.push_str(&format!("{}\n", point(result)));
        }
        _ => out.push_str(&format!("{data}\n")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_show_series_and_points() {
        let v = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "api"}, "value": [10.5, "1"]}
        ]});
        assert_eq!(table(&v), "up{job=\"api\"} => 1 @10.5\n");
        let m = json!({"resultType": "matrix", "result": [
            {"metric": {"job": "api"}, "values": [[1, "2"], [2, "3"]]}
        ]});
        assert_eq!(table(&m), "{job=\"api\"} =>\n  2 @1\n  3 @2\n");
        assert_eq!(unix_seconds("time", "12.5").unwrap(), "12.5");
        assert_eq!(
            unix_seconds("time", "1970-01-01T00:01:00Z").unwrap(),
            "60.000"
        );
        assert!(unix_seconds("time", "yesterday").is_err());
    }
}
