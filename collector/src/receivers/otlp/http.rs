//! OTLP/HTTP: `POST /v1/metrics` with `application/x-protobuf` or `application/json`,
//! plain or gzip. Answers in the request's encoding.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use taishan_core::{TenantId, TENANT_HEADER};

use super::{OtlpState, RpcStatus};
use crate::http::IngestError;

/// The OTLP/HTTP routes.
pub fn otlp_http_routes(state: OtlpState) -> Router {
    Router::new()
        .route("/v1/metrics", post(export_metrics))
        .route("/v1/traces", post(export_traces))
        .route("/v1/logs", post(export_logs))
        .with_state(state)
}

/// The two encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> Result<Self, IngestError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            other => Err(IngestError::UnsupportedMediaType(format!(
                "Content-Type {other:?} is not OTLP: send application/x-protobuf or application/json"
            ))),
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        })
    }
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    encoding: Encoding,
    body: &[u8],
) -> Result<T, IngestError> {
    match encoding {
        Encoding::Protobuf => T::decode(body).map_err(|e| {
            IngestError::BadRequest(format!("body is not a valid OTLP protobuf message: {e}"))
        }),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| IngestError::BadRequest(format!("body is not valid OTLP JSON: {e}"))),
    }
}

fn encode<T: Message + serde::Serialize>(encoding: Encoding, msg: &T) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => msg.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(msg).unwrap_or_default(),
    }
}

/// An error answer: the status code, `Retry-After` when it helps, and a `google.rpc.Status`.
fn refuse(state: &OtlpState, encoding: Encoding, err: IngestError) -> Response {
    state.count_refusal(&err);
    let status = err.status();
    // gRPC codes: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE.
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => 8,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        _ => 3,
    };
    let message = err.to_string();
    tracing::debug!(error = %message, "OTLP export refused");
    let body = match encoding {
        Encoding::Protobuf => RpcStatus { code, message }.encode_to_vec(),
        Encoding::Json => {
            serde_json::to_vec(&serde_json::json!({"code": code, "message": message}))
                .unwrap_or_default()
        }
    };
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response();
    if let Some(secs) = err.retry_after_secs() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn tenant(headers: &HeaderMap) -> Result<TenantId, IngestError> {
    TenantId::from_header(headers.get(TENANT_HEADER).map(|v| v.as_bytes()))
        .map_err(|e| IngestError::BadRequest(format!("invalid {TENANT_HEADER} header: {e}")))
}

/// Reads an export request, hands its body and encoding to `store`, answers with its
/// response.
async fn export<Resp, F, Fut>(state: OtlpState, req: Request<Body>, store: F) -> Response
where
    Resp: Message + serde::Serialize,
    F: FnOnce(OtlpState, TenantId, Encoding, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<Resp, IngestError>>,
{
    let (parts, body) = req.into_parts();
    let encoding = match Encoding::of(&parts.headers) {
        Ok(e) => e,
        Err(e) => return refuse(&state, Encoding::Json, e),
    };
    let work = async {
        let tenant = tenant(&parts.headers)?;
        let bytes = state.ingest.read_body(&parts.headers, body).await?;
        store(state.clone(), tenant, encoding, bytes).await
    };
    match work.await {
        Ok(resp) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoding.content_type())],
            encode(encoding, &resp),
        )
            .into_response(),
        Err(e) => refuse(&state, encoding, e),
    }
}

async fn export_metrics(State(state): State<OtlpState>, req: Request<Body>) -> Response {
    export(state, req, |s, tenant, encoding, body| async move {
        let msg: ExportMetricsServiceRequest = decode(encoding, &body)?;
        s.export_metrics(&tenant, msg).await
    })
    .await
}

async fn export_traces(State(state): State<OtlpState>, req: Request<Body>) -> Response {
    export(state, req, |s, tenant, encoding, body| async move {
        // Protobuf goes on as received; JSON is encoded once, here.
        let body = match encoding {
            Encoding::Protobuf => body,
            Encoding::Json => {
                let msg: ExportTraceServiceRequest = decode(encoding, &body)?;
                Bytes::from(msg.encode_to_vec())
            }
        };
        s.export_traces(&tenant, body).await
    })
    .await
}

async fn export_logs(State(state): State<OtlpState>, req: Request<Body>) -> Response {
    export(state, req, |s, tenant, encoding, body| async move {
        let msg: ExportLogsServiceRequest = decode(encoding, &body)?;
        s.export_logs(&tenant, msg).await
    })
    .await
}
