//! The web config: the exporter-toolkit file Prometheus and Alertmanager take with
//! `--web.config.file` (TLS, response headers, bcrypt basic-auth users), read unchanged,
//! plus Taishan's identities under `taishan:` (the roles and tenants of those users, and
//! bearer tokens stored as their SHA-256).
//!
//! Read strictly, as the toolkit reads it (an unknown field is an error), every problem
//! reported with file:line:column; paths are relative to the file's directory, as the
//! toolkit resolves them.

pub(crate) mod identities;
mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use taishan_core::config::{parse_placed, read_text, ConfigDiagnostic, FieldError};

pub use identities::{TaishanIdentities, TokenEntry, UserEntry};
pub(crate) use tls::UNVERIFIED_CLIENT_CERTS;
pub use tls::{ClientAuth, TlsServerConfig, TlsVersion};

/// Response headers the toolkit lets a web config set (anything else is refused there
/// too, so a file accepted here is accepted by Prometheus).
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// TLS for every listener; none means plain HTTP.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// HTTP options.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// Basic-auth users: name → bcrypt hash.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    /// Taishan's identities.
    #[serde(default)]
    pub taishan: TaishanIdentities,
    /// Where the file was read from (relative paths in it are resolved against its
    /// directory).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// `http_server_config:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Accepted for compatibility; Taishan's listeners speak HTTP/1.1 (and HTTP/2 for
    /// OTLP/gRPC) whatever it says.
    #[serde(default)]
    pub http2: Option<bool>,
    /// Headers added to every response.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl WebConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, Vec<ConfigDiagnostic>> {
        let (file, text) = read_text(path)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&file, &text, dir)
    }

    /// Reads and checks `text` (of `file`, in `dir`).
    pub fn parse(file: &str, text: &str, dir: PathBuf) -> Result<Self, Vec<ConfigDiagnostic>> {
        parse_placed(file, text, |root| {
            let mut config = if root.is_null() {
                WebConfig::default()
            } else {
                serde_path_to_error::deserialize::<_, WebConfig>(root).map_err(|e| {
                    vec![FieldError::new(e.path().to_string(), e.inner().to_string())]
                })?
            };
            config.dir = dir;
            let errors = config.problems();
            match errors.is_empty() {
                true => Ok(config),
                false => Err(errors),
            }
        })
    }

    /// Whether it asks for credentials (any user or token).
    pub fn requires_credentials(&self) -> bool {
        !self.basic_auth_users.is_empty() || !self.taishan.tokens.is_empty()
    }

    /// A path in the file, resolved against its directory.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }

    fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (name, hash) in &self.basic_auth_users {
            if !is_bcrypt_hash(hash) {
                errors.push(FieldError::new(
                    format!("basic_auth_users.{name}"),
                    "not a bcrypt hash ($2a$, $2b$ or $2y$, a cost and 53 characters; make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)",
                ));
            }
        }
        for name in self.http_server_config.headers.keys() {
            if !ALLOWED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                errors.push(FieldError::new(
                    format!("http_server_config.headers.{name}"),
                    format!(
                        "not a header a web config may set; allowed: {}",
                        ALLOWED_HEADERS.join(", ")
                    ),
                ));
            }
        }
        if let Some(tls) = &self.tls_server_config {
            errors.extend(tls.problems("tls_server_config"));
        }
        errors.extend(self.taishan.problems(&self.basic_auth_users));
        errors
    }
}

/// `$2b$10$` and 53 characters of bcrypt's base64, as htpasswd and the toolkit make them.
fn is_bcrypt_hash(hash: &str) -> bool {
    let parts: Vec<&str> = hash.split('$').collect();
    matches!(parts.as_slice(), ["", "2a" | "2b" | "2y", cost, rest]
        if cost.len() == 2
            && cost.parse::<u32>().is_ok_and(|c| (4..=31).contains(&c))
            && rest.len() == 53
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/'))
}

#[cfg(test)]
mod tests;
