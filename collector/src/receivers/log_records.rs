//! What the log receivers without an SDK share (JSON lines): level names as
//! OTLP severities, hex ids, and records grouped into one OTLP resource per service.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// The service of records that name none, as OpenTelemetry SDKs call it.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// A string as an OTLP value.
pub fn text(s: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

/// A string attribute.
pub fn attribute(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: text(value),
        ..Default::default()
    }
}

/// OTLP severity number of a level name (0 when it is not one).
pub fn severity_number(level: &str) -> i32 {
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

/// `len` bytes written as `2 * len` hex digits.
pub fn hex_id(s: &str, len: usize) -> Option<Vec<u8>> {
    if s.len() != len * 2 {
        return None;
    }
    (0..len)
        .map(|i| u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

/// Records of several services, one OTLP resource per service in order of appearance.
#[derive(Debug, Default)]
pub struct RecordsByService(Vec<(String, Vec<LogRecord>)>);

impl RecordsByService {
    /// Adds `record` of `service`.
    pub fn push(&mut self, service: &str, record: LogRecord) {
        match self.0.iter_mut().find(|(s, _)| s == service) {
            Some((_, records)) => records.push(record),
            None => self.0.push((service.to_string(), vec![record])),
        }
    }

    /// One resource (with `service.name`) per service.
    pub fn into_resource_logs(self) -> Vec<ResourceLogs> {
        self.0
            .into_iter()
            .map(|(service, log_records)| ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![attribute("service.name", service)],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect()
    }
}
