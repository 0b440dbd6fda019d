//! The tenant of a write, from the `X-Scope-OrgID` header (HTTP) or metadata entry (gRPC):
//! one extractor for every receiver; and [`Tenancy`], which also knows the tenants the
//! caller's credential may write, so a tenant named inside the payload (the OTLP tenant
//! attribute) cannot reach another tenant's data.

use axum::http::{Extensions, HeaderMap};
use taishan_core::{Identity, TenantId, Tenants, TENANT_HEADER};

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

/// Where a write goes: the tenant the request acts on (the edge has checked it against the
/// credential) and the tenants a payload may name instead.
#[derive(Debug, Clone)]
pub struct Tenancy {
    /// The request's tenant.
    pub tenant: TenantId,
    /// The tenants of the caller's credential (every tenant when authentication is off).
    pub allowed: Tenants,
}

impl Tenancy {
    /// Any tenant may be named: a write Taishan makes itself, or a test.
    pub fn unrestricted(tenant: TenantId) -> Self {
        Self {
            tenant,
            allowed: Tenants::Every,
        }
    }

    /// An HTTP request's tenancy: its header, and the identity the edge left.
    pub fn of_http(headers: &HeaderMap, extensions: &Extensions) -> Result<Self, IngestError> {
        Ok(Self {
            tenant: tenant_of(headers)?,
            allowed: allowed(extensions.get::<Identity>()),
        })
    }

    /// A gRPC request's tenancy.
    pub fn of_grpc<T>(request: &tonic::Request<T>) -> Result<Self, IngestError> {
        Ok(Self {
            tenant: tenant_of_grpc(request.metadata())?,
            allowed: allowed(request.extensions().get::<Identity>()),
        })
    }

    /// `named` (by the payload), if the credential may write it.
    pub fn admit(&self, named: TenantId, by: &str) -> Result<TenantId, IngestError> {
        match self.allowed.include(&named) {
            true => Ok(named),
            false => Err(IngestError::Forbidden(format!(
                "{by} names tenant {named:?}, which this credential may not write"
            ))),
        }
    }
}

/// No identity means no edge in front (a part tested alone): nothing to narrow.
fn allowed(identity: Option<&Identity>) -> Tenants {
    identity.map_or(Tenants::Every, |i| i.tenants.clone())
}
