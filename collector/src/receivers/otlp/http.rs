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

use super::Otlp;
use super::PATH;
use crate::errors::{ErrorBody, IngestError};
use crate::receivers::{Endpoints, Listener, Receiver, Shared, Summary};
use crate::tenant::Tenancy;

/// The OTLP/HTTP receiver.
#[derive(Debug, Clone, Copy)]
pub struct OtlpHttp;

impl Receiver for OtlpHttp {
    fn name(&self) -> &'static str {
        "otlp_http"
    }

    fn summary(&self) -> Summary {
        Summary {
            what: "OTLP/HTTP",
            listener: Listener::OtlpHttp,
            paths: &["/v1/metrics", "/v1/traces", "/v1/logs"],
        }
    }

    fn endpoints(&self, shared: &Shared) -> Endpoints {
        Endpoints::OtlpHttp(otlp_http_routes(shared.otlp.clone()))
    }
}

/// The OTLP/HTTP routes.
fn otlp_http_routes(otlp: Otlp) -> Router {
    Router::new()
        .route("/v1/metrics", post(export_metrics))
        .route("/v1/traces", post(export_traces))
        .route("/v1/logs", post(export_logs))
        .with_state(otlp)
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

    /// Errors are a `google.rpc.Status` in the request's encoding.
    fn error_body(self) -> ErrorBody {
        match self {
            Encoding::Protobuf => ErrorBody::RpcStatusProtobuf,
            Encoding::Json => ErrorBody::RpcStatusJson,
        }
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

/// An error answer: counted, and a `google.rpc.Status` in the request's encoding.
fn refuse(otlp: &Otlp, encoding: Encoding, err: IngestError) -> Response {
    otlp.ingest
        .refuse(PATH, err)
        .into_http(encoding.error_body())
}

/// Reads an export request, hands its body and encoding to `store`, answers with its
/// response.
async fn export<Resp, F, Fut>(otlp: Otlp, req: Request<Body>, store: F) -> Response
where
    Resp: Message + serde::Serialize,
    F: FnOnce(Otlp, Tenancy, Encoding, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<Resp, IngestError>>,
{
    let (parts, body) = req.into_parts();
    let encoding = match Encoding::of(&parts.headers) {
        Ok(e) => e,
        Err(e) => return refuse(&otlp, Encoding::Json, e),
    };
    let work = async {
        let to = Tenancy::of_http(&parts.headers, &parts.extensions)?;
        let bytes = otlp.ingest.read_body(&parts.headers, body).await?;
        store(otlp.clone(), to, encoding, bytes).await
    };
    match work.await {
        Ok(resp) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoding.content_type())],
            encode(encoding, &resp),
        )
            .into_response(),
        Err(e) => refuse(&otlp, encoding, e),
    }
}

async fn export_metrics(State(otlp): State<Otlp>, req: Request<Body>) -> Response {
    export(otlp, req, |s, to, encoding, body| async move {
        let msg: ExportMetricsServiceRequest = decode(encoding, &body)?;
        s.store_metrics(&to, msg).await
    })
    .await
}

async fn export_traces(State(otlp): State<Otlp>, req: Request<Body>) -> Response {
    export(otlp, req, |s, to, encoding, body| async move {
        // Protobuf goes on as received; JSON is encoded once, here.
        let body = match encoding {
            Encoding::Protobuf => body,
            Encoding::Json => {
                let msg: ExportTraceServiceRequest = decode(encoding, &body)?;
                Bytes::from(msg.encode_to_vec())
            }
        };
        s.ingest.store_traces(&to, body).await
    })
    .await
}

async fn export_logs(State(otlp): State<Otlp>, req: Request<Body>) -> Response {
    export(otlp, req, |s, to, encoding, body| async move {
        let msg: ExportLogsServiceRequest = decode(encoding, &body)?;
        s.ingest.store_logs(PATH, &to, msg).await
    })
    .await
}
