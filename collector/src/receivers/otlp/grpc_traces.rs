//! OTLP/gRPC `TraceService` that hands the export on as the bytes it arrived in.
//!
//! The generated service decodes every span into owned structs (two strings per
//! attribute) only for the store to walk them once and write them back out; this one keeps
//! the gRPC framing, compression and size limit of tonic's server and swaps only the codec,
//! so the export's bytes reach the trace store untouched (validated against the schema).

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, Body, BoxFuture, EnabledCompressionEncodings, StdError};
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::grpc::refused;
use crate::ingest::IngestState;
use crate::tenant::Tenancy;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The OTLP trace service over raw export bytes.
#[derive(Clone)]
pub struct RawTraceService {
    state: IngestState,
    compression: EnabledCompressionEncodings,
    max_request_bytes: usize,
}

impl RawTraceService {
    /// The service, accepting gzip and requests up to `max_request_bytes` decompressed.
    pub fn new(state: IngestState, max_request_bytes: usize) -> Self {
        let mut compression = EnabledCompressionEncodings::default();
        compression.enable(tonic::codec::CompressionEncoding::Gzip);
        Self {
            state,
            compression,
            max_request_bytes,
        }
    }
}

impl NamedService for RawTraceService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl<B> tonic::codegen::Service<http::Request<B>> for RawTraceService
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != EXPORT_PATH {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let export = Export(self.state.clone());
        let (compression, max) = (self.compression, self.max_request_bytes);
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .apply_compression_config(compression, compression)
                .apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(export, req).await)
        })
    }
}

struct Export(IngestState);

impl UnaryService<Bytes> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let state = self.0.clone();
        Box::pin(async move {
            let to = Tenancy::of_grpc(&request).map_err(|e| refused(&state, e))?;
            state
                .store_traces(&to, request.into_inner())
                .await
                .map(Response::new)
                .map_err(|e| refused(&state, e))
        })
    }
}

/// Requests pass as bytes; responses are encoded with prost.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        prost::Message::encode(&item, dst)
            .map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}
