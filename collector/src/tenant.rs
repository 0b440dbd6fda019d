//! The tenant of a write, from the `X-Scope-OrgID` header (HTTP) or metadata entry (gRPC):
//! one extractor for every receiver.

use axum::http::HeaderMap;
use taishan_core::{TenantId, TENANT_HEADER};

use crate::errors::IngestError;

/// The tenant named by a header value: `default` when there is none.
pub fn tenant_from(value: Option<&[u8]>) -> Result<TenantId, IngestError> {
    TenantId::from_header(value)
        .map_err(|e| IngestError::BadRequest(format!("invalid {TENANT_HEADER} header: {e}")))
}

/// An HTTP request's tenant.
pub fn tenant_of(headers: &HeaderMap) -> Result<TenantId, IngestError> {
    tenant_from(headers.get(TENANT_HEADER).map(|v| v.as_bytes()))
}

/// A gRPC request's tenant.
pub fn tenant_of_grpc(metadata: &tonic::metadata::MetadataMap) -> Result<TenantId, IngestError> {
    // gRPC metadata keys are lower case.
    let key = TENANT_HEADER.to_ascii_lowercase();
    tenant_from(metadata.get(key.as_str()).map(|v| v.as_bytes()))
}
