//! Why a write was refused, and the one place a refusal becomes an answer: an HTTP status
//! with `Retry-After` and a body in the format the receiver's clients read, or a gRPC
//! status with `RetryInfo`.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;

use crate::rpc::{ProtoAny, ProtoDuration, RetryInfo, RpcStatus, RpcStatusWithDetails};

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
    /// The request names data its credential may not write; nothing was stored.
    #[error("{0}")]
    Forbidden(String),
    /// The tenant writes faster than its limit; nothing was stored, retry later.
    #[error("tenant {tenant} is over its limit of {limit} samples/s (ingest.limits.samples_per_second); retry after {}s", retry_after.as_secs())]
    RateLimited {
        /// Whose limit.
        tenant: String,
        /// The limit.
        limit: u64,
        /// When enough is back.
        retry_after: Duration,
    },
}

/// How long a client should wait when storage is unavailable.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The body format of an error answer, as the receiver's clients read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorBody {
    /// The message as plain text (Prometheus remote write, JSON lines).
    Text,
    /// InfluxDB's `{"code": ..., "message": ...}`.
    InfluxJson,
    /// OTLP/HTTP's `google.rpc.Status`, as protobuf.
    RpcStatusProtobuf,
    /// OTLP/HTTP's `google.rpc.Status`, as JSON.
    RpcStatusJson,
}

impl From<taishan_core::AppendError> for IngestError {
    fn from(e: taishan_core::AppendError) -> Self {
        match e {
            taishan_core::AppendError::Overloaded { retry_after } => {
                IngestError::Overloaded { retry_after }
            }
            taishan_core::AppendError::Unavailable(why) => IngestError::Unavailable(why),
        }
    }
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
            IngestError::Forbidden(_) => "forbidden",
            IngestError::RateLimited { .. } => "rate_limited",
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
            IngestError::Overloaded { .. } | IngestError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The gRPC code this error answers with, as the OTLP specification asks.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            IngestError::Overloaded { .. } | IngestError::RateLimited { .. } => {
                tonic::Code::ResourceExhausted
            }
            IngestError::Unavailable(_) => tonic::Code::Unavailable,
            IngestError::Forbidden(_) => tonic::Code::PermissionDenied,
            _ => tonic::Code::InvalidArgument,
        }
    }

    /// Seconds a client should wait before retrying, for refusals that pass.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            IngestError::Overloaded { retry_after }
            | IngestError::RateLimited { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            IngestError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// The HTTP answer: status, `Retry-After` when retrying helps, and `body`'s format.
    pub fn into_http(self, body: ErrorBody) -> Response {
        let status = self.status();
        let message = self.to_string();
        let code = self.grpc_code() as i32;
        let (content_type, bytes) = match body {
            ErrorBody::Text => ("text/plain; charset=utf-8", message.into_bytes()),
            ErrorBody::InfluxJson => {
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "request too large",
                    StatusCode::TOO_MANY_REQUESTS => "too many requests",
                    StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                    _ => "invalid",
                };
                let json = serde_json::json!({ "code": code, "message": message });
                ("application/json", json.to_string().into_bytes())
            }
            ErrorBody::RpcStatusProtobuf => (
                "application/x-protobuf",
                RpcStatus { code, message }.encode_to_vec(),
            ),
            ErrorBody::RpcStatusJson => {
                let json = serde_json::json!({ "code": code, "message": message });
                ("application/json", json.to_string().into_bytes())
            }
        };
        let mut resp = (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response();
        if let Some(secs) = self.retry_after_secs() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }

    /// The gRPC answer: its code, and `RetryInfo` in the status details when retrying helps.
    pub fn into_grpc(self) -> tonic::Status {
        let code = self.grpc_code();
        let message = self.to_string();
        let Some(secs) = self.retry_after_secs() else {
            return tonic::Status::new(code, message);
        };
        let retry = RetryInfo {
            retry_delay: Some(ProtoDuration {
                seconds: i64::try_from(secs).unwrap_or(i64::MAX),
                nanos: 0,
            }),
        };
        let details = RpcStatusWithDetails {
            code: code as i32,
            message: message.clone(),
            details: vec![ProtoAny {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                value: retry.encode_to_vec(),
            }],
        };
        tonic::Status::with_details(code, message, details.encode_to_vec().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mapping_for_http_and_grpc() {
        let overloaded = || IngestError::Overloaded {
            retry_after: Duration::from_secs(7),
        };
        let r = overloaded().into_http(ErrorBody::Text);
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        let s = overloaded().into_grpc();
        assert_eq!(s.code(), tonic::Code::ResourceExhausted);
        let details = RpcStatusWithDetails::decode(s.details()).expect("details");
        let retry = RetryInfo::decode(details.details[0].value.as_slice()).expect("retry info");
        assert_eq!(retry.retry_delay.map(|d| d.seconds), Some(7));
        let bad = IngestError::BadRequest("line 3: no fields".into());
        assert_eq!(bad.grpc_code(), tonic::Code::InvalidArgument);
        let r = bad.into_http(ErrorBody::InfluxJson);
        assert_eq!(r.status(), 400);
        assert!(!r.headers().contains_key(header::RETRY_AFTER));
        let s = IngestError::Unavailable("disk".into()).into_grpc();
        assert_eq!(s.code(), tonic::Code::Unavailable);
        assert!(
            !s.details().is_empty(),
            "unavailable says when to retry too"
        );
    }
}
