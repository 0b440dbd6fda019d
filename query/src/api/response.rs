//! Prometheus's JSON envelopes, and the one place errors become status codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use taishan_core::{Labels, Sample};
use taishan_store::SeriesData;

use crate::engine::{QueryError, QueryOutput, QueryValue};

/// An API failure with its Prometheus `errorType`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    /// Seconds a client should wait before trying again (sent as `Retry-After`).
    retry_after: Option<u64>,
}

impl ApiError {
    /// 400 `bad_data`.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_data",
            message: message.into(),
            retry_after: None,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message: message.into(),
            retry_after: None,
        }
    }

    /// 503 `unavailable` with `Retry-After`: the server refuses more work for now.
    pub fn overloaded(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "unavailable",
            message: message.into(),
            retry_after: Some(retry_after_secs),
        }
    }

    /// 429 `too_many_requests` with `Retry-After: 1`: the caller holds its share already.
    pub fn too_many(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            kind: "too_many_requests",
            message: message.into(),
            retry_after: Some(1),
        }
    }

    /// Prometheus's `errorType`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::BadData(m) => Self::bad_data(m),
            QueryError::Execution(m) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                kind: "execution",
                message: m,
                retry_after: None,
            },
            QueryError::TooManySamples => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                kind: "execution",
                message: QueryError::TooManySamples.to_string(),
                retry_after: None,
            },
            QueryError::Timeout(m) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                kind: "timeout",
                message: m,
                retry_after: None,
            },
            QueryError::Storage(e) => Self::internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"status": "error", "errorType": self.kind, "error": self.message});
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        resp
    }
}

/// `{"status":"success","data":...}`
pub fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// A query's answer in Prometheus's envelope, with its annotations and, when asked
/// (`stats=all`), its statistics.
pub fn query_success(out: &QueryOutput, with_stats: bool) -> Response {
    let mut data = query_value(&out.value);
    if with_stats {
        data["stats"] = json!({
            "timings": {
                "evalTotalTime": out.stats.eval_seconds,
                "resultSortTime": 0.0,
                "queryPreparationTime": 0.0,
                "innerEvalTime": out.stats.eval_seconds,
                "execQueueTime": 0.0,
                "execTotalTime": out.stats.eval_seconds,
            },
            "samples": {
                "totalQueryableSamples": out.stats.total_samples,
                "peakSamples": out.stats.peak_samples,
            },
        });
    }
    let mut body = json!({"status": "success", "data": data});
    if !out.annotations.warnings.is_empty() {
        body["warnings"] = json!(out.annotations.warnings);
    }
    if !out.annotations.infos.is_empty() {
        body["infos"] = json!(out.annotations.infos);
    }
    Json(body).into_response()
}

/// A sample value as Prometheus writes it: shortest round-trip decimal, `NaN`, `±Inf`.
pub use crate::engine::value::format_float as format_value;

/// `[seconds, "value"]`
pub fn point(s: &Sample) -> Value {
    json!([s.timestamp_ms as f64 / 1000.0, format_value(s.value)])
}

/// A label set as a JSON object.
pub fn metric(labels: &Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

/// A matrix result body.
pub fn matrix(series: &[SeriesData]) -> Value {
    json!({
        "resultType": "matrix",
        "result": series
            .iter()
            .map(|s| json!({"metric": metric(&s.labels), "values": s.samples.iter().map(point).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
    })
}

/// The body of any query result.
pub fn query_value(v: &QueryValue) -> Value {
    match v {
        QueryValue::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples
                .iter()
                .map(|(l, s)| json!({"metric": metric(l), "value": point(s)}))
                .collect::<Vec<_>>(),
        }),
        QueryValue::Matrix(series) => matrix(series),
        QueryValue::Scalar(s) => json!({"resultType": "scalar", "result": point(s)}),
        QueryValue::String(t, s) => {
            json!({"resultType": "string", "result": [*t as f64 / 1000.0, s]})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_map_to_prometheus_status_and_type() {
        for (e, status, kind) in [
            (QueryError::BadData("x".into()), 400, "bad_data"),
            (QueryError::Execution("x".into()), 422, "execution"),
            (QueryError::TooManySamples, 422, "execution"),
            (QueryError::Timeout("x".into()), 503, "timeout"),
        ] {
            let a = ApiError::from(e);
            assert_eq!((a.status.as_u16(), a.kind), (status, kind));
        }
    }

    #[test]
    fn values_are_formatted_like_prometheus() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(
            point(&Sample::new(1_435_781_451_781, 1.0)),
            json!([1435781451.781, "1"])
        );
    }
}
