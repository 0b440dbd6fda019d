//! Tenants: every write and read carries one, and storage keys on it.

use std::fmt;
use std::sync::Arc;

/// The HTTP header that names the tenant, as in Cortex and Mimir.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

/// The tenant used when a request names none.
pub const DEFAULT_TENANT: &str = "default";

/// Longest tenant id accepted (Cortex's limit).
const MAX_TENANT_LEN: usize = 150;

/// Why a tenant id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TenantError {
    /// Empty id.
    #[error("tenant id is empty")]
    Empty,
    /// Too long.
    #[error("tenant id is {0} bytes long; at most 150 are allowed")]
    TooLong(usize),
    /// Bytes that are not text.
    #[error("tenant id is not valid UTF-8")]
    NotUtf8,
    /// A character outside the allowed set.
    #[error("tenant id contains {0:?}; allowed are letters, digits and !-_.*'()")]
    BadChar(char),
}

/// An operating entity whose data is kept apart from every other's.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

impl TenantId {
    /// Parses and checks a tenant id (the character set Cortex allows, so ids are safe in paths).
    pub fn new(id: &str) -> Result<Self, TenantError> {
        if id.is_empty() {
            return Err(TenantError::Empty);
        }
        if id.len() > MAX_TENANT_LEN {
            return Err(TenantError::TooLong(id.len()));
        }
        if let Some(bad) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()".contains(*c)))
        {
            return Err(TenantError::BadChar(bad));
        }
        if id == "." || id == ".." {
            return Err(TenantError::BadChar('.'));
        }
        Ok(Self(Arc::from(id)))
    }

    /// The tenant named by a request header's raw value, or `default` when absent.
    pub fn from_header(value: Option<&[u8]>) -> Result<Self, TenantError> {
        match value {
            None => Ok(Self::default_tenant()),
            Some(raw) => {
                let text = std::str::from_utf8(raw).map_err(|_| TenantError::NotUtf8)?;
                Self::new(text.trim())
            }
        }
    }

    /// The tenant of requests that name none.
    pub fn default_tenant() -> Self {
        Self(Arc::from(DEFAULT_TENANT))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::default_tenant()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_cortex_style_ids_and_refuses_others() {
        assert_eq!(TenantId::new("bank-a_01").unwrap().as_str(), "bank-a_01");
        assert_eq!(TenantId::new(""), Err(TenantError::Empty));
        assert_eq!(TenantId::new("a/b"), Err(TenantError::BadChar('/')));
        assert_eq!(TenantId::new(".."), Err(TenantError::BadChar('.')));
        assert!(matches!(
            TenantId::new(&"x".repeat(151)),
            Err(TenantError::TooLong(151))
        ));
        assert_eq!(TenantId::default().as_str(), "default");
    }
}
