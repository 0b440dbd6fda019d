//! JSON lines for apps without an OpenTelemetry SDK: `POST /api/v1/logs`, one JSON object
//! per line (plain or gzip). Common field names are understood — `time`/`timestamp`/`ts`,
//! `level`/`severity`, `message`/`msg`/`body`, `service`, `trace_id`/`traceId`,
//! `span_id`/`spanId` — and every other field becomes an attribute. A malformed line refuses
//! the whole request with its line number.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;
use taishan_core::{TenantId, TENANT_HEADER};

use super::otlp::OtlpState;
use crate::http::{IngestError, IngestPath};

/// The JSON-lines log route.
pub fn json_logs_routes(state: OtlpState) -> Router {
    Router::new()
        .route("/api/v1/logs", post(receive))
        .with_state(state)
}

fn text(s: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

/// OTLP severity number of a level name.
fn severity_number(level: &str) -> i32 {
    match level.to_ascii_lowercase().as_str() {
        "trace" => 1,
        "debug" => 5,
        "info" | "information" | "notice" => 9,
        "warn" | "warning" => 13,
        "error" | "err" => 17,
        "fatal" | "critical" | "crit" | "panic" | "emergency" | "alert" => 21,
        _ => 0,
    }
}

/// A timestamp: RFC 3339, or a number of seconds, milliseconds or nanoseconds (told apart
/// by magnitude).
fn time_ns(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => humantime::parse_rfc3339_weak(s)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as u64),
        Value::Number(n) => {
            let f = n.as_f64()?;
            if !f.is_finite() || f < 0.0 {
                return None;
            }
            Some(if f < 1e11 {
                (f * 1e9) as u64
            } else if f < 1e14 {
                (f * 1e6) as u64
            } else {
                f as u64
            })
        }
        _ => None,
    }
}

fn hex_id(s: &str, len: usize) -> Option<Vec<u8>> {
    if s.len() != len * 2 {
        return None;
    }
    (0..len)
        .map(|i| u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line as a log record and its service; the error names what is wrong.
fn parse_line(line: &str, now_ns: u64) -> Result<(String, LogRecord), String> {
    let Value::Object(fields) =
        serde_json::from_str::<Value>(line).map_err(|e| format!("not JSON: {e}"))?
    else {
        return Err("not a JSON object".into());
    };
    let mut record = LogRecord {
        observed_time_unix_nano: now_ns,
        ..Default::default()
    };
    let mut service = String::from("unknown_service");
    for (key, value) in fields {
        match key.as_str() {
            "time" | "timestamp" | "ts" | "@timestamp" => {
                record.time_unix_nano =
                    time_ns(&value).ok_or_else(|| format!("{key:?} is not a time: {value}"))?;
            }
            "level" | "severity" | "lvl" => {
                let level = scalar_text(&value);
                record.severity_number = severity_number(&level);
                record.severity_text = level;
            }
            "message" | "msg" | "body" | "log" => record.body = text(scalar_text(&value)),
            "service" | "service.name" | "service_name" | "app" => service = scalar_text(&value),
            "trace_id" | "traceId" | "trace.id" => {
                record.trace_id = hex_id(&scalar_text(&value), 16)
                    .ok_or_else(|| format!("{key:?} must be 32 hex digits"))?;
            }
            "span_id" | "spanId" | "span.id" => {
                record.span_id = hex_id(&scalar_text(&value), 8)
                    .ok_or_else(|| format!("{key:?} must be 16 hex digits"))?;
            }
            _ => record.attributes.push(KeyValue {
                key,
                value: text(scalar_text(&value)),
                ..Default::default()
            }),
        }
    }
    Ok((service, record))
}

/// Parses a whole body into OTLP resource logs, one resource per service.
pub fn parse_json_lines(body: &str, now_ns: u64) -> Result<Vec<ResourceLogs>, String> {
    let mut by_service: Vec<(String, Vec<LogRecord>)> = Vec::new();
    for (n, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (service, record) =
            parse_line(line, now_ns).map_err(|e| format!("line {}: {e}", n + 1))?;
        match by_service.iter_mut().find(|(s, _)| *s == service) {
            Some((_, records)) => records.push(record),
            None => by_service.push((service, vec![record])),
        }
    }
    Ok(by_service
        .into_iter()
        .map(|(service, log_records)| ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: text(service),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect())
}

async fn receive(State(state): State<OtlpState>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let work = async {
        let tenant = TenantId::from_header(parts.headers.get(TENANT_HEADER).map(|v| v.as_bytes()))
            .map_err(|e| IngestError::BadRequest(format!("invalid {TENANT_HEADER} header: {e}")))?;
        let bytes = state.ingest.read_body(&parts.headers, body).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| IngestError::BadRequest("body is not UTF-8".into()))?;
        let now_ns = u64::try_from(state.ingest.clock.now_ms()).unwrap_or(0) * 1_000_000;
        let resource_logs = parse_json_lines(text, now_ns).map_err(IngestError::BadRequest)?;
        state
            .export_logs(
                &tenant,
                opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
                    resource_logs,
                },
            )
            .await
    };
    match work.await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            state.count_refusal(&e);
            e.into_response_for(IngestPath::Otlp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_field_names_are_understood() {
        let body = "{\"ts\": 1700000000.5, \"level\": \"warn\", \"msg\": \"slow\", \"service\": \"risk\", \"trace_id\": \"0102030405060708090a0b0c0d0e0f10\", \"order\": 42}\n\n{\"message\": \"hi\", \"time\": \"2023-11-14T22:13:20Z\"}\n";
        let logs = parse_json_lines(body, 7).unwrap();
        assert_eq!(logs.len(), 2);
        let r = &logs[0].scope_logs[0].log_records[0];
        assert_eq!(r.time_unix_nano, 1_700_000_000_500_000_000);
        assert_eq!((r.severity_number, r.severity_text.as_str()), (13, "warn"));
        assert_eq!(r.trace_id.len(), 16);
        assert_eq!(r.attributes[0].key, "order");
        let r2 = &logs[1].scope_logs[0].log_records[0];
        assert_eq!(r2.time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(r2.observed_time_unix_nano, 7);
        let err = parse_json_lines("{\"msg\": 1}\n{bad\n", 0).unwrap_err();
        assert!(err.starts_with("line 2: not JSON"), "{err}");
        assert!(parse_json_lines("{\"trace_id\": \"xyz\"}", 0)
            .unwrap_err()
            .contains("32 hex digits"));
    }
}
