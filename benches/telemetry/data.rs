//! Spans and log lines for the telemetry benchmark, generated deterministically: spans in
//! the OTel Collector's load-test shape (20 attributes each), grouped five to a trace across
//! a fleet of services; log lines as a service would write them, a third with trace ids.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};

/// Services in the fleet.
pub const SERVICES: usize = 20;
/// Spans per trace.
pub const SPANS_PER_TRACE: usize = 5;

fn rng(seed: u64) -> u64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn kv(k: &str, v: String) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v)),
        }),
        ..Default::default()
    }
}

fn resource(service: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", format!("svc-{service}")),
            kv("service.instance.id", format!("svc-{service}-1")),
        ],
        ..Default::default()
    })
}

/// The trace id of trace number `n`.
pub fn trace_id(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&rng(n).to_le_bytes());
    id[8..].copy_from_slice(&(n + 1).to_le_bytes());
    id
}

/// Export requests of `per_request` spans each, `requests` of them, starting at trace
/// `first_trace`, with times around `now_ns`.
pub fn span_requests(
    requests: usize,
    per_request: usize,
    first_trace: u64,
    now_ns: u64,
) -> Vec<ExportTraceServiceRequest> {
    let mut out = Vec::with_capacity(requests);
    let mut trace = first_trace;
    for _ in 0..requests {
        let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES];
        let mut n = 0;
        while n < per_request {
            let tid = trace_id(trace);
            for k in 0..SPANS_PER_TRACE.min(per_request - n) {
                let r = rng(trace * 31 + k as u64);
                let service = ((trace as usize) + k) % SERVICES;
                let start = now_ns - (r % 60_000_000_000);
                let dur = 1_000_000 + r % 500_000_000;
                let mut attributes: Vec<KeyValue> = (0..17)
                    .map(|a| {
                        kv(
                            &format!("attr.{a}"),
                            format!("value-{}", (r >> (a % 32)) % 1000),
                        )
                    })
                    .collect();
                attributes.push(kv("http.route", format!("/api/v1/resource/{}", r % 50)));
                attributes.push(kv(
                    "http.method",
                    if r % 3 == 0 {
                        "POST".into()
                    } else {
                        "GET".into()
                    },
                ));
                attributes.push(kv("customer.id", format!("c-{}", r % 100_000)));
                by_service[service].push(Span {
                    trace_id: tid.to_vec(),
                    span_id: (r | 1).to_le_bytes().to_vec(),
                    parent_span_id: if k == 0 {
                        Vec::new()
                    } else {
                        (rng(trace * 31 + k as u64 - 1) | 1).to_le_bytes().to_vec()
                    },
                    name: format!("op-{}", r % 8),
                    kind: if k % 2 == 0 {
                        span::SpanKind::Server as i32
                    } else {
                        span::SpanKind::Client as i32
                    },
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + dur,
                    attributes,
                    status: (r % 50 == 0).then(|| Status {
                        code: status::StatusCode::Error as i32,
                        message: "failed".into(),
                    }),
                    ..Default::default()
                });
                n += 1;
            }
            trace += 1;
        }
        out.push(ExportTraceServiceRequest {
            resource_spans: by_service
                .into_iter()
                .enumerate()
                .filter(|(_, spans)| !spans.is_empty())
                .map(|(s, spans)| ResourceSpans {
                    resource: resource(s),
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        });
    }
    out
}

/// The trace id log line `n` carries, if any.
pub fn log_trace_id(n: u64) -> Option<[u8; 16]> {
    let r = rng(n);
    (r % 3 == 0).then(|| trace_id(r % 1_000_000))
}

const WORDS: [&str; 16] = [
    "payment", "accepted", "declined", "ledger", "entry", "posted", "timeout", "retry", "bank",
    "channel", "risk", "score", "loan", "granted", "balance", "checked",
];

/// Export requests of `per_request` log lines each; returns them and the raw bytes of the
/// lines' text (what a log indexer's MB/s counts).
pub fn log_requests(
    requests: usize,
    per_request: usize,
    first: u64,
    now_ns: u64,
) -> (Vec<ExportLogsServiceRequest>, u64) {
    let mut raw = 0u64;
    let mut out = Vec::with_capacity(requests);
    let mut n = first;
    for _ in 0..requests {
        let mut by_service: Vec<Vec<LogRecord>> = vec![Vec::new(); SERVICES];
        for _ in 0..per_request {
            let r = rng(n);
            let words: Vec<&str> = (0..12)
                .map(|i| WORDS[((r >> (i * 4)) & 15) as usize])
                .collect();
            let mut body = format!(
                "request {} {} order=o-{} amount={}.{:02} took {}ms",
                n,
                words.join(" "),
                r % 1_000_000,
                r % 10_000,
                r % 100,
                r % 900
            );
            // A rare event, for searches of a term that occurs a handful of times.
            if n % 1_000_000 == 0 {
                body.push_str(" account quarantined by compliance");
            }
            let severity = match r % 20 {
                0 => 17,
                1 | 2 => 13,
                _ => 9,
            };
            raw += body.len() as u64 + 60;
            by_service[((r >> 8) % SERVICES as u64) as usize].push(LogRecord {
                // Lines arrive about in time order, as a service writes them.
                time_unix_nano: now_ns - (r % 2_000_000_000),
                severity_number: severity,
                severity_text: match severity {
                    17 => "ERROR",
                    13 => "WARN",
                    _ => "INFO",
                }
                .into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(body)),
                }),
                attributes: vec![kv("customer.id", format!("c-{}", r % 100_000))],
                trace_id: log_trace_id(n).map(|t| t.to_vec()).unwrap_or_default(),
                ..Default::default()
            });
            n += 1;
        }
        out.push(ExportLogsServiceRequest {
            resource_logs: by_service
                .into_iter()
                .enumerate()
                .filter(|(_, l)| !l.is_empty())
                .map(|(s, log_records)| ResourceLogs {
                    resource: resource(s),
                    scope_logs: vec![ScopeLogs {
                        log_records,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        });
    }
    (out, raw)
}
