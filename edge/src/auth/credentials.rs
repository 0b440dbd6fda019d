//! Checking an `Authorization` header against the web config's users and tokens.
//!
//! A bearer token is looked up by its SHA-256 (the file holds only that). A basic-auth
//! password is checked with bcrypt once; afterwards the SHA-256 of the user and password
//! is remembered, so a client sending the same credential on every request (Prometheus's
//! remote write, an SDK) costs a hash and a lookup, not a bcrypt round (tens of ms).
//! Only successes are remembered, and at most [`REMEMBERED`] of them.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use taishan_core::{Identity, Role, Roles, TenantId, Tenants};

use crate::webconfig::{identities::token_digest, WebConfig};

/// How many verified basic-auth credentials are remembered.
const REMEMBERED: usize = 1024;

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header (nor session).
    #[error("credentials required: send basic auth or a bearer token")]
    Missing,
    /// A header that is not `Basic` or `Bearer`, or not well formed.
    #[error("unreadable Authorization header: {0}")]
    Malformed(&'static str),
    /// An unknown user, a wrong password or an unknown token.
    #[error("invalid credentials")]
    Invalid,
    /// A login session that ended (or whose user is gone).
    #[error("the session has ended: log in again")]
    Expired,
}

/// What a header asks, once read.
pub enum Presented {
    /// Known already (a token, or a remembered password): the identity.
    Known(Identity),
    /// A password to check with bcrypt (slow: run it off the async threads).
    Password(PasswordCheck),
}

/// A basic-auth password to verify.
pub struct PasswordCheck {
    key: [u8; 32],
    password: String,
    hash: String,
    identity: Identity,
}

/// The users and tokens of one web config.
pub struct Credentials {
    users: HashMap<String, (String, Identity)>,
    tokens: HashMap<[u8; 32], Identity>,
    remembered: RwLock<HashMap<[u8; 32], Identity>>,
}

impl Credentials {
    /// Compiles a checked web config.
    pub fn new(config: &WebConfig) -> Self {
        let ids = &config.taishan;
        let users = config
            .basic_auth_users
            .iter()
            .map(|(name, hash)| {
                let identity = match ids.users.get(name) {
                    Some(e) => identity(name, &e.roles, &e.tenants),
                    // As the same file allows in Prometheus: everything.
                    None => Identity {
                        name: Arc::from(name.as_str()),
                        roles: Roles::EVERY,
                        tenants: Tenants::Every,
                    },
                };
                (name.clone(), (hash.clone(), identity))
            })
            .collect();
        let tokens = ids
            .tokens
            .iter()
            .filter_map(|t| {
                Some((
                    token_digest(&t.sha256)?,
                    identity(&t.name, &t.roles, &t.tenants),
                ))
            })
            .collect();
        Self {
            users,
            tokens,
            remembered: RwLock::new(HashMap::new()),
        }
    }

    /// With one more bearer token (the process's own, for the clients it runs itself).
    pub fn with_token(mut self, token: &str, identity: Identity) -> Self {
        self.tokens
            .insert(Sha256::digest(token.as_bytes()).into(), identity);
        self
    }

    /// Reads an `Authorization` header value.
    pub fn present(&self, authorization: Option<&[u8]>) -> Result<Presented, AuthError> {
        let value = authorization.ok_or(AuthError::Missing)?;
        let value = std::str::from_utf8(value).map_err(|_| AuthError::Malformed("not text"))?;
        let (scheme, rest) = value
            .split_once(' ')
            .ok_or(AuthError::Malformed("expected `Basic …` or `Bearer …`"))?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let digest: [u8; 32] = Sha256::digest(rest.as_bytes()).into();
            return self
                .tokens
                .get(&digest)
                .cloned()
                .map(Presented::Known)
                .ok_or(AuthError::Invalid);
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthError::Malformed("expected `Basic …` or `Bearer …`"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| AuthError::Malformed("basic credentials are not base64"))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| AuthError::Malformed("basic credentials are not text"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or(AuthError::Malformed("basic credentials lack a ':'"))?;
        let (hash, identity) = self.users.get(user).ok_or(AuthError::Invalid)?;
        let mut hasher = Sha256::new();
        hasher.update(user.as_bytes());
        hasher.update([0]);
        hasher.update(password.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        if let Some(known) = self.remembered.read().get(&key) {
            return Ok(Presented::Known(known.clone()));
        }
        Ok(Presented::Password(PasswordCheck {
            key,
            password: password.to_string(),
            hash: hash.clone(),
            identity: identity.clone(),
        }))
    }

    /// Verifies a password with bcrypt (blocking, tens of ms) and remembers a success.
    pub fn verify(&self, check: PasswordCheck) -> Result<Identity, AuthError> {
        if !bcrypt::verify(&check.password, &check.hash).unwrap_or(false) {
            return Err(AuthError::Invalid);
        }
        let mut remembered = self.remembered.write();
        if remembered.len() >= REMEMBERED {
            remembered.clear();
        }
        remembered.insert(check.key, check.identity.clone());
        Ok(check.identity)
    }

    /// The identity of basic-auth user `name` as the file now says (a login session's).
    pub fn user(&self, name: &str) -> Option<Identity> {
        self.users.get(name).map(|(_, identity)| identity.clone())
    }

    /// The identity of basic-auth `user` with `password`, checked in full (the login page).
    pub fn login(&self, user: &str, password: &str) -> Result<Identity, AuthError> {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        match self.present(Some(header.as_bytes()))? {
            Presented::Known(identity) => Ok(identity),
            Presented::Password(check) => self.verify(check),
        }
    }
}

/// An identity from a checked entry's names (the config check refused unknown ones).
fn identity(name: &str, roles: &[String], tenants: &[String]) -> Identity {
    let tenants = match tenants.iter().any(|t| t == "*") {
        true => Tenants::Every,
        false => Tenants::Only(
            tenants
                .iter()
                .filter_map(|t| TenantId::new(t).ok())
                .collect(),
        ),
    };
    Identity {
        name: Arc::from(name),
        roles: Roles::of(roles.iter().filter_map(|r| Role::parse(r))),
        tenants,
    }
}
