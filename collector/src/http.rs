//! The HTTP side of ingest: routes, body limits, tenant, and one mapping from errors to
//! status codes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use taishan_core::{AppendError, AppendOutcome, Bus, Clock, MetricBatch};

use crate::metrics::IngestMetrics;
use crate::receivers::{influx, remote_write};

/// Which door a write came in by, for metrics and error formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestPath {
    /// Prometheus remote write 1.0.
    RemoteWrite,
    /// Influx `/api/v2/write`.
    InfluxV2,
    /// Influx `/write`.
    InfluxV1,
    /// Taishan's own scraper.
    Scrape,
    /// OTLP/HTTP or OTLP/gRPC.
    Otlp,
}

impl IngestPath {
    /// Label value in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestPath::RemoteWrite => "remote_write",
            IngestPath::InfluxV2 => "influx_v2",
            IngestPath::InfluxV1 => "influx_v1",
            IngestPath::Scrape => "scrape",
            IngestPath::Otlp => "otlp",
        }
    }
}

/// What the write handlers share.
#[derive(Clone)]
pub struct IngestState {
    /// Where batches go.
    pub bus: Arc<dyn Bus>,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: usize,
    /// Counters.
    pub metrics: IngestMetrics,
    /// Time for samples sent without a timestamp.
    pub clock: Arc<dyn Clock>,
}

/// Why a write was refused (wholly or in part).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request does not decode or validate; nothing was stored.
    #[error("{0}")]
    BadRequest(String),
    /// Body over the limit; nothing was stored.
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A `Content-Type` the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A `Content-Encoding` we do not speak.
    #[error("unsupported Content-Encoding {0:?}; send identity or gzip")]
    UnsupportedEncoding(String),
    /// Storage is saturated; retry later.
    #[error("ingest queue is full; retry after {}s", retry_after.as_secs())]
    Overloaded {
        /// Suggested delay.
        retry_after: Duration,
    },
    /// Storage cannot take writes.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Part of the request was stored, part refused (e.g. out-of-order samples).
    #[error("{0}")]
    PartlyRefused(String),
}

impl IngestError {
    /// Short reason label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::BadRequest(_) => "bad_request",
            IngestError::TooLarge { .. } => "too_large",
            IngestError::UnsupportedEncoding(_) => "unsupported_encoding",
            IngestError::UnsupportedMediaType(_) => "unsupported_media_type",
            IngestError::Overloaded { .. } => "overloaded",
            IngestError::Unavailable(_) => "unavailable",
            IngestError::PartlyRefused(_) => "samples_refused",
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::BadRequest(_) | IngestError::PartlyRefused(_) => StatusCode::BAD_REQUEST,
            IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedMediaType(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            IngestError::Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Seconds a client should wait before retrying, for refusals that pass.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            IngestError::Overloaded { retry_after } => Some(retry_after.as_secs().max(1)),
            IngestError::Unavailable(_) => Some(5),
            _ => None,
        }
    }

    /// The response, in the format the path's clients expect.
    pub fn into_response_for(self, path: IngestPath) -> Response {
        let status = self.status();
        let message = self.to_string();
        let mut resp = match path {
            IngestPath::InfluxV1 | IngestPath::InfluxV2 => {
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "request too large",
                    StatusCode::TOO_MANY_REQUESTS => "too many requests",
                    StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                    _ => "invalid",
                };
                let body = serde_json_like(code, &message);
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
            _ => (status, message).into_response(),
        };
        if let Some(secs) = self.retry_after_secs() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// `{"code":..,"message":..}` without pulling serde_json in for two strings.
fn serde_json_like(code: &str, message: &str) -> String {
    let esc = |s: &str| {
        let mut out = String::with_capacity(s.len() + 2);
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out
    };
    format!(
        "{{\"code\":\"{}\",\"message\":\"{}\"}}",
        esc(code),
        esc(message)
    )
}

impl IngestState {
    /// Publishes a decoded batch and turns the bus's answer into the client's.
    pub async fn publish(
        &self,
        path: IngestPath,
        batch: MetricBatch,
    ) -> Result<AppendOutcome, IngestError> {
        if batch.series.is_empty() {
            return Ok(AppendOutcome::default());
        }
        match self.bus.publish(batch).await {
            Ok(outcome) => {
                self.metrics
                    .samples_ingested
                    .with_label_values(&[path.as_str()])
                    .inc_by(outcome.accepted as u64);
                if outcome.rejected.is_empty() {
                    Ok(outcome)
                } else {
                    Err(IngestError::PartlyRefused(describe_refusals(&outcome)))
                }
            }
            Err(AppendError::Overloaded { retry_after }) => {
                Err(IngestError::Overloaded { retry_after })
            }
            Err(AppendError::Unavailable(why)) => Err(IngestError::Unavailable(why)),
        }
    }

    /// Counts a refusal and renders it.
    pub fn refuse(&self, path: IngestPath, err: IngestError) -> Response {
        self.metrics
            .requests_refused
            .with_label_values(&[path.as_str(), err.reason()])
            .inc();
        tracing::debug!(path = path.as_str(), error = %err, "write refused");
        err.into_response_for(path)
    }

    /// Reads a request body, decompressing gzip, refusing more than the limit.
    pub async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, IngestError> {
        let limit = self.max_body_bytes;
        let raw = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| IngestError::TooLarge { limit })?;
        match headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
        {
            None => Ok(raw),
            Some(e) if e.is_empty() || e == "identity" => Ok(raw),
            Some(e) if e == "gzip" => {
                use std::io::Read;
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .take(limit as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| IngestError::BadRequest(format!("body is not valid gzip: {e}")))?;
                if out.len() > limit {
                    return Err(IngestError::TooLarge { limit });
                }
                Ok(Bytes::from(out))
            }
            Some(other) => Err(IngestError::UnsupportedEncoding(other)),
        }
    }
}

/// "stored 3 samples; refused 2: 1 out_of_order (e.g. up{...} @ 5), 1 ..."
fn describe_refusals(outcome: &AppendOutcome) -> String {
    let parts: Vec<String> = outcome
        .rejected
        .iter()
        .map(|r| format!("{} {} (e.g. {})", r.samples, r.reason.as_str(), r.example))
        .collect();
    format!(
        "stored {} samples; refused {}: {}",
        outcome.accepted,
        outcome.rejected_count(),
        parts.join(", ")
    )
}

/// Runs a write handler, timing it and rendering its error for its path.
pub async fn handle<F>(state: &IngestState, path: IngestPath, work: F) -> Response
where
    F: std::future::Future<Output = Result<AppendOutcome, IngestError>>,
{
    let start = Instant::now();
    let resp = match work.await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => state.refuse(path, e),
    };
    state
        .metrics
        .write_duration
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// The write endpoints: `/api/v1/write` (remote write), `/api/v2/write` and `/write` (Influx).
pub fn ingest_routes(state: IngestState) -> Router {
    Router::new()
        .route(
            "/api/v1/write",
            post(|axum::extract::State(s): axum::extract::State<IngestState>, req: Request| async move {
                remote_write::receive(&s, req).await
            }),
        )
        .route(
            "/api/v2/write",
            post(|axum::extract::State(s): axum::extract::State<IngestState>, req: Request| async move {
                influx::receive(&s, IngestPath::InfluxV2, req).await
            }),
        )
        .route(
            "/write",
            post(|axum::extract::State(s): axum::extract::State<IngestState>, req: Request| async move {
                influx::receive(&s, IngestPath::InfluxV1, req).await
            }),
        )
        // Limits are enforced by `read_body`, which knows about compression and counts refusals.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
