//! Calls to other services and to bank channels: a client span each (with `peer.service`),
//! the trace context carried in `traceparent`.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ServiceTelemetry;

/// How an outbound call went wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// No answer in time: the far side may or may not have acted.
    #[error("{peer} did not answer within {timeout:?}")]
    Timeout {
        /// Who was called.
        peer: String,
        /// How long the caller waited.
        timeout: Duration,
    },
    /// The connection could not be made: the far side did not see the request.
    #[error("cannot reach {peer}: {reason}")]
    Unreachable {
        /// Who was called.
        peer: String,
        /// What the transport said.
        reason: String,
    },
    /// The far side answered with an error status.
    #[error("{peer} answered {status}: {body}")]
    Status {
        /// Who was called.
        peer: String,
        /// The status.
        status: StatusCode,
        /// The body, for the log.
        body: String,
    },
    /// The far side's answer could not be read.
    #[error("{peer} sent an unreadable answer: {reason}")]
    Decode {
        /// Who was called.
        peer: String,
        /// Why it could not be read.
        reason: String,
    },
}

impl CallError {
    /// The status the far side answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An HTTP client whose every call is a traced client span.
#[derive(Debug, Clone)]
pub struct TracedClient {
    http: reqwest::Client,
    telemetry: Arc<ServiceTelemetry>,
    timeout: Duration,
}

impl TracedClient {
    /// A client for `telemetry`'s service with a per-call `timeout`.
    pub fn new(telemetry: Arc<ServiceTelemetry>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        Self {
            http,
            telemetry,
            timeout,
        }
    }

    /// The telemetry of the calling service.
    pub fn telemetry(&self) -> &Arc<ServiceTelemetry> {
        &self.telemetry
    }

    /// POSTs `body` as JSON to `url` and reads a JSON answer; `route` names the span
    /// (`POST /transfers`) and `peer` the far side.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        cx: &Context,
        peer: &str,
        route: &'static str,
        url: &str,
        body: &B,
    ) -> Result<R, CallError> {
        let body = serde_json::to_vec(body).map_err(|e| CallError::Decode {
            peer: peer.into(),
            reason: e.to_string(),
        })?;
        let (status, bytes) = self
            .forward(cx, peer, route, Method::POST, url, Some(body))
            .await?;
        answer(peer, status, &bytes)
    }

    /// GETs `url` and reads a JSON answer.
    pub async fn get<R: DeserializeOwned>(
        &self,
        cx: &Context,
        peer: &str,
        route: &'static str,
        url: &str,
    ) -> Result<R, CallError> {
        let (status, bytes) = self
            .forward(cx, peer, route, Method::GET, url, None)
            .await?;
        answer(peer, status, &bytes)
    }

    /// Sends a request as given and returns the far side's status and body, whatever the
    /// status (a gateway passing answers through; `post` and `get` read JSON from it).
    pub async fn forward(
        &self,
        cx: &Context,
        peer: &str,
        route: &'static str,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Vec<u8>), CallError> {
        let tracer = self.telemetry.tracer();
        let span = tracer
            .span_builder(route)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("peer.service", peer.to_string()),
                KeyValue::new("http.request.method", method.as_str().to_string()),
                KeyValue::new("url.full", url.to_string()),
            ])
            .start_with_context(tracer, cx);
        let cx = cx.with_span(span);
        let mut headers = HeaderMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
        let mut request = self
            .http
            .request(method, url)
            .headers(headers)
            .timeout(self.timeout);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(bytes) => Ok((status, bytes.to_vec())),
                    Err(e) => Err(transport_error(peer, self.timeout, &e)),
                }
            }
            Err(e) => Err(transport_error(peer, self.timeout, &e)),
        };
        let span = cx.span();
        match &result {
            Ok((status, _)) => {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status.as_u16()),
                ));
                // A 4xx is the caller's or the business's answer, not a failed dependency.
                if status.is_server_error() {
                    span.set_status(Status::error(status.to_string()));
                }
            }
            Err(e) => span.set_status(Status::error(e.to_string())),
        }
        span.end();
        result
    }
}

fn transport_error(peer: &str, timeout: Duration, e: &reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Timeout {
            peer: peer.into(),
            timeout,
        }
    } else if e.is_connect() {
        CallError::Unreachable {
            peer: peer.into(),
            reason: e.to_string(),
        }
    } else {
        // The request may have been sent: treat like a timeout, the outcome is unknown.
        CallError::Timeout {
            peer: peer.into(),
            timeout,
        }
    }
}

/// A 2xx answer's JSON body, or the error the status or the body is.
fn answer<R: DeserializeOwned>(
    peer: &str,
    status: StatusCode,
    bytes: &[u8],
) -> Result<R, CallError> {
    if !status.is_success() {
        return Err(CallError::Status {
            peer: peer.into(),
            status,
            body: String::from_utf8_lossy(bytes).chars().take(300).collect(),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| CallError::Decode {
        peer: peer.into(),
        reason: e.to_string(),
    })
}
