//! `taishan:` in the web config: the roles and tenants of basic-auth users, and bearer
//! tokens (kept as their SHA-256, never in clear).

use std::collections::BTreeMap;

use serde::Deserialize;
use taishan_core::config::FieldError;
use taishan_core::{Role, TenantId};

/// `taishan:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaishanIdentities {
    /// Roles and tenants of `basic_auth_users` (a user not listed may do everything).
    #[serde(default)]
    pub users: BTreeMap<String, UserEntry>,
    /// Bearer tokens.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

/// What one basic-auth user may do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// Role names.
    pub roles: Vec<String>,
    /// Tenant ids, or `"*"` for every tenant.
    pub tenants: Vec<String>,
}

/// One bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Its name: the identity in the audit trail and logs.
    pub name: String,
    /// Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`).
    pub sha256: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Tenant ids, or `"*"` for every tenant.
    pub tenants: Vec<String>,
}

impl TaishanIdentities {
    pub(super) fn problems(&self, users: &BTreeMap<String, String>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (name, entry) in &self.users {
            let at = format!("taishan.users.{name}");
            if !users.contains_key(name) {
                errors.push(FieldError::new(
                    &at,
                    format!("{name:?} is not in basic_auth_users: give it a bcrypt hash there"),
                ));
            }
            errors.extend(grants_problems(&at, &entry.roles, &entry.tenants));
        }
        let mut seen = BTreeMap::new();
        for (i, token) in self.tokens.iter().enumerate() {
            let at = format!("taishan.tokens[{i}]");
            if token.name.is_empty() {
                errors.push(FieldError::new(format!("{at}.name"), "must not be empty"));
            }
            if users.contains_key(&token.name) {
                errors.push(FieldError::new(
                    format!("{at}.name"),
                    format!("{:?} is also a basic-auth user; identities must be unique in the audit trail", token.name),
                ));
            }
            if let Some(first) = seen.insert(token.name.as_str(), i) {
                errors.push(FieldError::new(
                    format!("{at}.name"),
                    format!(
                        "{:?} is also the name of taishan.tokens[{first}]",
                        token.name
                    ),
                ));
            }
            if token_digest(&token.sha256).is_none() {
                errors.push(FieldError::new(
                    format!("{at}.sha256"),
                    "must be 64 hex digits: the SHA-256 of the token (printf %s \"$TOKEN\" | sha256sum)",
                ));
            }
            errors.extend(grants_problems(&at, &token.roles, &token.tenants));
        }
        errors
    }
}

/// The 32 bytes of a hex SHA-256.
pub(crate) fn token_digest(hex: &str) -> Option<[u8; 32]> {
    taishan_core::signer::decode_hex(hex)?.try_into().ok()
}

fn grants_problems(at: &str, roles: &[String], tenants: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if roles.is_empty() {
        errors.push(FieldError::new(
            format!("{at}.roles"),
            "must name at least one role (viewer, writer, operator, admin)",
        ));
    }
    for (i, role) in roles.iter().enumerate() {
        if Role::parse(role).is_none() {
            errors.push(FieldError::new(
                format!("{at}.roles[{i}]"),
                format!("unknown role {role:?}; the roles are viewer, writer, operator, admin"),
            ));
        }
    }
    if tenants.is_empty() {
        errors.push(FieldError::new(
            format!("{at}.tenants"),
            "must name at least one tenant, or \"*\" for every tenant",
        ));
    }
    for (i, tenant) in tenants.iter().enumerate() {
        if tenant != "*" {
            if let Err(e) = TenantId::new(tenant) {
                errors.push(FieldError::new(format!("{at}.tenants[{i}]"), e.to_string()));
            }
        }
    }
    errors
}
