//! The tenant of a request, from the `X-Scope-OrgID` header.

use axum::http::HeaderMap;
use taishan_core::{TenantError, TenantId, TENANT_HEADER};

/// The request's tenant: the header's value, or `default` when there is none.
pub fn tenant_of(headers: &HeaderMap) -> Result<TenantId, TenantError> {
    TenantId::from_header(headers.get(TENANT_HEADER).map(|v| v.as_bytes()))
}
