//! Influx writes: `POST /api/v2/write?org=&bucket=&precision=` and v1 `POST /write?db=`.
//!
//! Each field becomes a series named `<measurement>_<field>` with the tags as labels.
//! Names are made valid Prometheus names by replacing other characters with `_` (and a
//! leading digit gets a `_` prefix). Booleans are stored as 1 and 0, integers as floats.
//! String fields cannot be stored as samples: a request with one is refused whole, naming
//! the line. `org`, `bucket` and `db` are checked but not stored; the tenant comes from
//! `X-Scope-OrgID`.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use taishan_core::{Label, Labels, MetricBatch, Sample, SampleList, SeriesSamples};

use super::line_protocol::{self, FieldValue};
use super::{Endpoints, Listener, Receiver, Shared, Summary};
use crate::errors::{ErrorBody, IngestError};
use crate::ingest::{IngestPath, IngestState};
use crate::tenant::tenant_of;

/// The ingest path label of `/api/v2/write`.
pub const PATH_V2: IngestPath = IngestPath::new("influx_v2");
/// The ingest path label of `/write`.
pub const PATH_V1: IngestPath = IngestPath::new("influx_v1");

/// The Influx line protocol receiver, InfluxDB 2's and 1's write APIs.
#[derive(Debug, Clone, Copy)]
pub struct Influx;

impl Receiver for Influx {
    fn name(&self) -> &'static str {
        "influx"
    }

    fn summary(&self) -> Summary {
        Summary {
            what: "Influx line protocol",
            listener: Listener::Api,
            paths: &["/api/v2/write?bucket=...", "/write?db=..."],
        }
    }

    fn endpoints(&self, shared: &Shared) -> Endpoints {
        let state = &shared.ingest;
        Endpoints::Api(
            Router::new()
                .route(
                    "/api/v2/write",
                    post(|State(s): State<IngestState>, req: Request| async move {
                        receive(&s, Version::V2, req).await
                    }),
                )
                .route(
                    "/write",
                    post(|State(s): State<IngestState>, req: Request| async move {
                        receive(&s, Version::V1, req).await
                    }),
                )
                // Limits are enforced by `read_body`, which knows about compression.
                .layer(DefaultBodyLimit::disable())
                .with_state(state.clone()),
        )
    }
}

/// Which InfluxDB write API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/write?db=` (InfluxDB 1).
    V1,
    /// `/api/v2/write?bucket=` (InfluxDB 2).
    V2,
}

impl Version {
    fn path(self) -> IngestPath {
        match self {
            Version::V1 => PATH_V1,
            Version::V2 => PATH_V2,
        }
    }
}

/// Handles one write.
async fn receive(state: &IngestState, version: Version, req: Request) -> Response {
    let path = version.path();
    state
        .handle(path, ErrorBody::InfluxJson, async {
            let params: HashMap<String, String> = Query::try_from_uri(req.uri())
                .map(|Query(p)| p)
                .map_err(|e| IngestError::BadRequest(format!("invalid query string: {e}")))?;
            let precision = precision_of(version, &params)?;
            let tenant = tenant_of(req.headers())?;
            let (parts, body) = req.into_parts();
            let body = state.read_body(&parts.headers, body).await?;
            let text = std::str::from_utf8(&body)
                .map_err(|e| IngestError::BadRequest(format!("body is not UTF-8: {e}")))?;
            let series = to_series(text, precision, state.clock.now_ms())?;
            state.publish(path, MetricBatch::new(tenant, series)).await
        })
        .await
}

/// Timestamp precision of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Nanoseconds (the default).
    Nanos,
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
    /// Seconds.
    Seconds,
    /// Minutes (v1 only).
    Minutes,
    /// Hours (v1 only).
    Hours,
}

impl Precision {
    fn to_millis(self, t: i64) -> Option<i64> {
        match self {
            Precision::Nanos => Some(t.div_euclid(1_000_000)),
            Precision::Micros => Some(t.div_euclid(1_000)),
            Precision::Millis => Some(t),
            Precision::Seconds => t.checked_mul(1_000),
            Precision::Minutes => t.checked_mul(60_000),
            Precision::Hours => t.checked_mul(3_600_000),
        }
    }
}

fn precision_of(
    version: Version,
    params: &HashMap<String, String>,
) -> Result<Precision, IngestError> {
    match version {
        Version::V2 => {
            if params.get("bucket").is_none_or(|b| b.is_empty()) {
                return Err(IngestError::BadRequest(
                    "missing the bucket query parameter".into(),
                ));
            }
        }
        Version::V1 => {
            if params.get("db").is_none_or(|b| b.is_empty()) {
                return Err(IngestError::BadRequest(
                    "missing the db query parameter".into(),
                ));
            }
        }
    }
    let p = params.get("precision").map(String::as_str).unwrap_or("ns");
    Ok(match (version, p) {
        (_, "ns") | (Version::V1, "n") => Precision::Nanos,
        (_, "us") | (Version::V1, "u") => Precision::Micros,
        (_, "ms") => Precision::Millis,
        (_, "s") => Precision::Seconds,
        (Version::V1, "m") => Precision::Minutes,
        (Version::V1, "h") => Precision::Hours,
        (_, other) => {
            return Err(IngestError::BadRequest(format!(
                "invalid precision {other:?}; use ns, us, ms or s"
            )))
        }
    })
}

/// Parses a body into series. `now_ms` stamps points sent without a timestamp.
pub fn to_series(
    text: &str,
    precision: Precision,
    now_ms: i64,
) -> Result<Vec<SeriesSamples>, IngestError> {
    let points = line_protocol::parse(text).map_err(|e| IngestError::BadRequest(e.to_string()))?;
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<SeriesSamples> = Vec::new();
    for (line, p) in points {
        let bad = |msg: String| IngestError::BadRequest(format!("line {line}: {msg}"));
        let t = match p.timestamp {
            Some(ts) => precision
                .to_millis(ts)
                .ok_or_else(|| bad(format!("timestamp {ts} overflows at this precision")))?,
            None => now_ms,
        };
        let mut tags = Vec::with_capacity(p.tags.len() + 1);
        for (k, v) in &p.tags {
            let name = sanitize(k, false);
            if name.starts_with("__") {
                return Err(bad(format!(
                    "tag key {k:?} is reserved (names starting with __)"
                )));
            }
            tags.push(Label::new(name, v.clone()));
        }
        // Later duplicates of a field win, as in Influx.
        let mut fields: Vec<(&str, f64)> = Vec::with_capacity(p.fields.len());
        for (key, value) in &p.fields {
            let v = match value {
                FieldValue::Float(f) => *f,
                FieldValue::Int(i) => *i as f64,
                FieldValue::UInt(u) => *u as f64,
                FieldValue::Bool(b) => f64::from(u8::from(*b)),
                FieldValue::Str(_) => {
                    return Err(bad(format!(
                        "field {key:?} is a string; only numeric and boolean fields can be stored as samples"
                    )))
                }
            };
            fields.retain(|(k, _)| *k != key.as_str());
            fields.push((key.as_str(), v));
        }
        for (key, v) in fields {
            let mut labels = tags.clone();
            labels.push(Label::new(
                taishan_core::METRIC_NAME,
                sanitize(&format!("{}_{}", p.measurement, key), true),
            ));
            let labels = Labels::new(labels).map_err(|e| bad(e.to_string()))?;
            let slot = *index.entry(labels.clone()).or_insert_with(|| {
                out.push(SeriesSamples {
                    labels,
                    samples: SampleList::new(),
                });
                out.len() - 1
            });
            out[slot].samples.push(Sample::new(t, v));
        }
    }
    for s in &mut out {
        // Lines may arrive in any order; for one timestamp the last line wins, as in Influx.
        s.samples.reverse();
        s.samples.sort_by_key(|x| x.timestamp_ms);
        s.samples.dedup_by_key(|x| x.timestamp_ms);
    }
    Ok(out)
}

/// Makes `s` a valid Prometheus metric (`metric`) or label name.
fn sanitize(s: &str, metric: bool) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_series_named_measurement_field() {
        let body = "payment.latency,channel=bank-a,3ds=yes p99=0.25,ok=t 1700000000000000000\npayment.latency,channel=bank-a,3ds=yes p99=0.5 1699999999000000000";
        let series = to_series(body, Precision::Nanos, 0).unwrap();
        let names: Vec<String> = series.iter().map(|s| s.labels.to_string()).collect();
        assert_eq!(
            names,
            vec![
                "payment_latency_p99{_3ds=\"yes\", channel=\"bank-a\"}",
                "payment_latency_ok{_3ds=\"yes\", channel=\"bank-a\"}"
            ]
        );
        let p99: Vec<(i64, f64)> = series[0]
            .samples
            .iter()
            .map(|s| (s.timestamp_ms, s.value))
            .collect();
        assert_eq!(
            p99,
            vec![(1_699_999_999_000, 0.5), (1_700_000_000_000, 0.25)]
        );
        assert_eq!(series[1].samples[0].value, 1.0);
    }

    #[test]
    fn precision_and_missing_timestamps() {
        let s = to_series("m v=1 1700000000", Precision::Seconds, 0).unwrap();
        assert_eq!(s[0].samples[0].timestamp_ms, 1_700_000_000_000);
        let s = to_series("m v=1", Precision::Nanos, 42).unwrap();
        assert_eq!(s[0].samples[0].timestamp_ms, 42);
        assert!(to_series("m v=1 9223372036854775807", Precision::Seconds, 0).is_err());
    }

    #[test]
    fn strings_and_reserved_tags_refuse_the_batch_naming_the_line() {
        let err = to_series("m v=1\nm status=\"ok\"", Precision::Nanos, 0)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "line 2: field \"status\" is a string; only numeric and boolean fields can be stored as samples");
        let err = to_series("m,__name__=x v=1", Precision::Nanos, 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("line 1: tag key \"__name__\" is reserved"),
            "{err}"
        );
    }
}
