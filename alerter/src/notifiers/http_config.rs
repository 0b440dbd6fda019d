//! `http_config`: the HTTP client settings of an integration (or of `global`, which
//! integrations without their own inherit), in the shape Prometheus's common client config
//! has, applied to the requests the notifier makes: credentials, proxy, TLS, redirects.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde::Deserialize;

/// Connections that do not open in this long fail (the attempt itself is bounded by the
/// group's interval, as in Alertmanager).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An integration's `http_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    #[serde(default)]
    basic_auth: Option<BasicAuth>,
    #[serde(default)]
    authorization: Option<Authorization>,
    #[serde(default)]
    bearer_token: Option<String>,
    #[serde(default)]
    bearer_token_file: Option<String>,
    #[serde(default)]
    oauth2: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    proxy_url: Option<String>,
    #[serde(default)]
    no_proxy: Option<String>,
    #[serde(default)]
    proxy_from_environment: bool,
    #[serde(default)]
    proxy_connect_header: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    tls_config: Option<TlsConfig>,
    #[serde(default = "yes")]
    follow_redirects: bool,
    #[serde(default = "yes")]
    enable_http2: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuth {
    #[serde(default)]
    username: String,
    #[serde(default)]
    username_file: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Authorization {
    #[serde(default = "bearer", rename = "type")]
    kind: String,
    #[serde(default)]
    credentials: Option<String>,
    #[serde(default)]
    credentials_file: Option<String>,
}

fn bearer() -> String {
    "Bearer".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsConfig {
    #[serde(default)]
    ca: Option<String>,
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    insecure_skip_verify: bool,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
}

/// A settings problem: the field (under `http_config`) and what is wrong.
pub type SettingError = (String, String);

impl HttpClientConfig {
    /// Reads `http_config` from YAML.
    pub fn from_yaml(value: &serde_yaml_ng::Value) -> Result<Self, SettingError> {
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let inner = e.path().to_string();
            (
                if inner == "." { String::new() } else { inner },
                e.into_inner().to_string(),
            )
        })
    }

    /// The client these settings describe.
    pub fn client(&self) -> Result<reqwest::Client, SettingError> {
        if self.oauth2.is_some() {
            return Err((
                "oauth2".into(),
                "OAuth 2.0 is not supported by Taishan".into(),
            ));
        }
        if self.proxy_connect_header.is_some() {
            return Err((
                "proxy_connect_header".into(),
                "not supported by Taishan".into(),
            ));
        }
        let mut b = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .default_headers(self.headers()?);
        if !self.follow_redirects {
            b = b.redirect(reqwest::redirect::Policy::none());
        }
        if !self.enable_http2 {
            b = b.http1_only();
        }
        b = self.proxy(b)?;
        if let Some(tls) = &self.tls_config {
            b = tls.apply(b)?;
        }
        b.build()
            .map_err(|e| (String::new(), format!("cannot build the client: {e}")))
    }

    /// The `Authorization` header of the settings, when they have one.
    fn headers(&self) -> Result<HeaderMap, SettingError> {
        let auth = match (&self.basic_auth, &self.authorization, &self.bearer_token, &self.bearer_token_file) {
            (None, None, None, None) => None,
            (Some(b), None, None, None) => Some(b.header()?),
            (None, Some(a), None, None) => Some(a.header()?),
            (None, None, Some(t), None) => Some(format!("Bearer {t}")),
            (None, None, None, Some(f)) => Some(format!("Bearer {}", read_secret("bearer_token_file", f)?)),
            _ => {
                return Err((
                    String::new(),
                    "at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured".into(),
                ))
            }
        };
        let mut headers = HeaderMap::new();
        if let Some(value) = auth {
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                (
                    String::new(),
                    "the credentials contain characters a header cannot carry".into(),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(headers)
    }

    fn proxy(&self, b: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, SettingError> {
        match (&self.proxy_url, self.proxy_from_environment) {
            (Some(_), true) => Err((
                "proxy_url".into(),
                "at most one of proxy_url & proxy_from_environment must be configured".into(),
            )),
            // reqwest reads HTTP(S)_PROXY and NO_PROXY itself unless told not to.
            (None, true) => Ok(b),
            (None, false) => {
                if self.no_proxy.is_some() {
                    return Err(("no_proxy".into(), "set without proxy_url".into()));
                }
                Ok(b.no_proxy())
            }
            (Some(url), false) => {
                let proxy = reqwest::Proxy::all(url)
                    .map_err(|e| ("proxy_url".into(), format!("invalid URL {url:?}: {e}")))?
                    .no_proxy(
                        self.no_proxy
                            .as_deref()
                            .and_then(reqwest::NoProxy::from_string),
                    );
                Ok(b.proxy(proxy))
            }
        }
    }
}

impl BasicAuth {
    fn header(&self) -> Result<String, SettingError> {
        use base64::Engine;
        let username = match &self.username_file {
            Some(f) if self.username.is_empty() => read_secret("basic_auth.username_file", f)?,
            Some(_) => {
                return Err((
                    "basic_auth".into(),
                    "at most one of username & username_file must be configured".into(),
                ))
            }
            None => self.username.clone(),
        };
        let password = match (&self.password, &self.password_file) {
            (Some(_), Some(_)) => {
                return Err((
                    "basic_auth".into(),
                    "at most one of password & password_file must be configured".into(),
                ))
            }
            (Some(p), None) => p.clone(),
            (None, Some(f)) => read_secret("basic_auth.password_file", f)?,
            (None, None) => String::new(),
        };
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        Ok(format!("Basic {token}"))
    }
}

impl Authorization {
    fn header(&self) -> Result<String, SettingError> {
        if self.kind.eq_ignore_ascii_case("basic") {
            return Err((
                "authorization.type".into(),
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead".into(),
            ));
        }
        let credentials = match (&self.credentials, &self.credentials_file) {
            (Some(_), Some(_)) => {
                return Err((
                    "authorization".into(),
                    "at most one of credentials & credentials_file must be configured".into(),
                ))
            }
            (Some(c), None) => c.clone(),
            (None, Some(f)) => read_secret("authorization.credentials_file", f)?,
            (None, None) => String::new(),
        };
        Ok(format!("{} {credentials}", self.kind))
    }
}

impl TlsConfig {
    fn apply(&self, mut b: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, SettingError> {
        if let Some(ca) = pem("ca", &self.ca, &self.ca_file)? {
            let certs = reqwest::Certificate::from_pem_bundle(&ca).map_err(|e| {
                (
                    "tls_config.ca".into(),
                    format!("not a PEM certificate: {e}"),
                )
            })?;
            for cert in certs {
                b = b.add_root_certificate(cert);
            }
        }
        match (
            pem("cert", &self.cert, &self.cert_file)?,
            pem("key", &self.key, &self.key_file)?,
        ) {
            (Some(mut cert), Some(key)) => {
                cert.push(b'\n');
                cert.extend_from_slice(&key);
                let identity = reqwest::Identity::from_pem(&cert).map_err(|e| {
                    (
                        "tls_config.cert".into(),
                        format!("not a PEM certificate and key: {e}"),
                    )
                })?;
                b = b.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err((
                    "tls_config".into(),
                    "a client certificate needs both cert and key".into(),
                ))
            }
        }
        if self.server_name.is_some() {
            return Err((
                "tls_config.server_name".into(),
                "not supported by Taishan; connect by that name instead".into(),
            ));
        }
        for (field, v) in [
            ("min_version", &self.min_version),
            ("max_version", &self.max_version),
        ] {
            if let Some(v) = v {
                let version = match v.as_str() {
                    "TLS12" => reqwest::tls::Version::TLS_1_2,
                    "TLS13" => reqwest::tls::Version::TLS_1_3,
                    other => {
                        return Err((
                            format!("tls_config.{field}"),
                            format!("{other:?}: Taishan speaks TLS12 and TLS13"),
                        ))
                    }
                };
                b = if field == "min_version" {
                    b.min_tls_version(version)
                } else {
                    b.max_tls_version(version)
                };
            }
        }
        Ok(b.danger_accept_invalid_certs(self.insecure_skip_verify))
    }
}

/// A PEM given inline or as a file, not both.
fn pem(
    what: &str,
    inline: &Option<String>,
    file: &Option<String>,
) -> Result<Option<Vec<u8>>, SettingError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err((
            format!("tls_config.{what}"),
            format!("at most one of {what} & {what}_file must be configured"),
        )),
        (Some(text), None) => Ok(Some(text.as_bytes().to_vec())),
        (None, Some(f)) => std::fs::read(f).map(Some).map_err(|e| {
            (
                format!("tls_config.{what}_file"),
                format!("cannot read {f}: {e}"),
            )
        }),
        (None, None) => Ok(None),
    }
}

/// A secret read from a file, its surrounding whitespace trimmed.
fn read_secret(field: &str, file: &str) -> Result<String, SettingError> {
    std::fs::read_to_string(file)
        .map(|t| t.trim().to_string())
        .map_err(|e| (field.to_string(), format!("cannot read {file}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> HttpClientConfig {
        HttpClientConfig::from_yaml(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn credentials_become_the_authorization_header() {
        let basic = config("basic_auth: {username: am, password: s3cret}");
        assert_eq!(
            basic.headers().unwrap()[AUTHORIZATION],
            "Basic YW06czNjcmV0"
        );
        let bearer = config("authorization: {credentials: t0ken}");
        assert_eq!(bearer.headers().unwrap()[AUTHORIZATION], "Bearer t0ken");
        let old = config("bearer_token: t0ken");
        assert_eq!(old.headers().unwrap()[AUTHORIZATION], "Bearer t0ken");
        assert!(config("follow_redirects: false")
            .headers()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn contradictions_and_unsupported_settings_are_named() {
        let two = config("basic_auth: {username: a}\nbearer_token: t");
        assert!(two
            .client()
            .unwrap_err()
            .1
            .contains("at most one of basic_auth"));
        let basic = config("authorization: {type: Basic, credentials: x}");
        assert_eq!(basic.client().unwrap_err().0, "authorization.type");
        let oauth = config("oauth2: {client_id: x}");
        assert_eq!(oauth.client().unwrap_err().0, "oauth2");
        let tls = config("tls_config: {min_version: TLS10}");
        assert_eq!(tls.client().unwrap_err().0, "tls_config.min_version");
        let missing = config("tls_config: {ca_file: /nonexistent/ca.pem}");
        assert_eq!(missing.client().unwrap_err().0, "tls_config.ca_file");
        let typo =
            HttpClientConfig::from_yaml(&serde_yaml_ng::from_str("basic_auth: {user: a}").unwrap());
        assert_eq!(typo.unwrap_err().0, "basic_auth.user");
        assert!(
            config("proxy_url: http://127.0.0.1:3128\nno_proxy: localhost")
                .client()
                .is_ok()
        );
    }
}
