//! `tls_server_config:` as the exporter toolkit writes it.

use serde::Deserialize;
use taishan_core::config::FieldError;

/// Why `RequestClientCert` and `RequireAnyClientCert` are refused.
pub(crate) const UNVERIFIED_CLIENT_CERTS: &str = "a client certificate that is not verified proves nothing; use VerifyClientCertIfGiven or RequireAndVerifyClientCert";

/// TLS of every listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// PEM certificate chain file.
    #[serde(default)]
    pub cert_file: String,
    /// PEM private key file (mode 0600 or stricter).
    #[serde(default)]
    pub key_file: String,
    /// The certificate chain inline (instead of `cert_file`).
    #[serde(default)]
    pub cert: String,
    /// Whether and how clients present certificates.
    #[serde(default)]
    pub client_auth_type: ClientAuth,
    /// CA certificates that client certificates must chain to.
    #[serde(default)]
    pub client_ca_file: String,
    /// Oldest TLS version accepted (default TLS 1.2).
    #[serde(default)]
    pub min_version: Option<TlsVersion>,
    /// Newest TLS version accepted.
    #[serde(default)]
    pub max_version: Option<TlsVersion>,
    /// Accepted for compatibility: rustls offers only its own modern suites and curves.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Accepted for compatibility (see `cipher_suites`).
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    /// Accepted for compatibility (see `cipher_suites`).
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    /// Subject alternative names a client certificate must carry one of.
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
}

/// The toolkit's `client_auth_type` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientAuth {
    /// Clients present no certificate.
    #[default]
    NoClientCert,
    /// A certificate is asked for, not checked (refused: it proves nothing).
    RequestClientCert,
    /// A certificate is required, not checked (refused: it proves nothing).
    RequireAnyClientCert,
    /// A certificate, if given, must chain to `client_ca_file`.
    VerifyClientCertIfGiven,
    /// A certificate chaining to `client_ca_file` is required.
    RequireAndVerifyClientCert,
}

/// TLS protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.0: refused (rustls does not speak it).
    TLS10,
    /// TLS 1.1: refused (rustls does not speak it).
    TLS11,
    /// TLS 1.2.
    TLS12,
    /// TLS 1.3.
    TLS13,
}

impl TlsServerConfig {
    pub(super) fn problems(&self, at: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.cert_file.is_empty() && self.cert.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.cert_file"),
                "required: the PEM certificate chain served to clients",
            ));
        }
        if !self.cert_file.is_empty() && !self.cert.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.cert"),
                "give cert_file or cert, not both",
            ));
        }
        if self.key_file.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.key_file"),
                "required: the PEM private key of the certificate",
            ));
        }
        let verifies = matches!(
            self.client_auth_type,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        );
        if matches!(
            self.client_auth_type,
            ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert
        ) {
            errors.push(FieldError::new(
                format!("{at}.client_auth_type"),
                UNVERIFIED_CLIENT_CERTS,
            ));
        }
        for san in &self.client_allowed_sans {
            if rustls::pki_types::ServerName::try_from(san.as_str()).is_err() {
                errors.push(FieldError::new(
                    format!("{at}.client_allowed_sans"),
                    format!("{san:?} is neither a DNS name nor an IP address"),
                ));
            }
        }
        if verifies && self.client_ca_file.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.client_ca_file"),
                "required when client_auth_type verifies client certificates",
            ));
        }
        for (field, version) in [
            ("min_version", self.min_version),
            ("max_version", self.max_version),
        ] {
            if matches!(version, Some(TlsVersion::TLS10 | TlsVersion::TLS11)) {
                errors.push(FieldError::new(
                    format!("{at}.{field}"),
                    "TLS 1.0 and 1.1 are not offered; use TLS12 or TLS13",
                ));
            }
        }
        if let (Some(min), Some(max)) = (self.min_version, self.max_version) {
            if min > max {
                errors.push(FieldError::new(
                    format!("{at}.max_version"),
                    "is older than min_version",
                ));
            }
        }
        errors
    }
}
