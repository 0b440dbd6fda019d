//! TLS on every listener: the web config's `tls_server_config` served with rustls.
//!
//! [`ServerTls::load`] reads the certificate chain, the key (refused when empty or
//! readable by others) and the client CA, and builds one rustls config per protocol
//! (`http/1.1` for the HTTP listeners, `h2` for OTLP/gRPC). [`ServerTls::listen`] turns a
//! bound TCP listener into a [`TlsListener`] whose handshakes run beside the accept loop,
//! each bounded in time, so a slow or silent client holds up no one else.
//! [`ServerTls::reload`] swaps the files in at SIGHUP for the handshakes that follow.
//! [`ServerTls::own_client_config`] is what the clients Taishan runs itself (self-scrape,
//! the demo's exporters) trust: exactly the certificate being served, whatever names it
//! carries.
//!
//! Client certificates: `VerifyClientCertIfGiven` and `RequireAndVerifyClientCert` check
//! them against `client_ca_file` (and `client_allowed_sans`); `RequestClientCert` and
//! `RequireAnyClientCert`, which ask for a certificate and then trust it unchecked, are
//! refused when the file is read.

mod listener;
mod material;
mod pinned;

use std::sync::Arc;

use parking_lot::RwLock;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::webconfig::{
    ClientAuth, TlsServerConfig, TlsVersion, WebConfig, UNVERIFIED_CLIENT_CERTS,
};

pub use listener::{TlsListener, TlsStream};

/// Why the web config's TLS cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("tls_server_config.{field}: {reason}")]
pub struct TlsError {
    field: &'static str,
    reason: String,
}

impl TlsError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// The protocols a listener speaks inside TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// HTTP/1.1 (the API, OTLP/HTTP and the alerter).
    Http1,
    /// HTTP/2 (OTLP/gRPC).
    H2,
}

/// What one reading of the files gives.
struct Served {
    http1: Arc<ServerConfig>,
    h2: Arc<ServerConfig>,
    /// The certificate handed to clients (what Taishan's own clients trust).
    leaf: CertificateDer<'static>,
    /// Names a client certificate must carry one of (empty: any).
    allowed_sans: Vec<ServerName<'static>>,
}

/// The TLS being served, swapped whole on reload.
#[derive(Clone)]
pub struct ServerTls {
    current: Arc<RwLock<Arc<Served>>>,
}

impl ServerTls {
    /// The web config's TLS, or `None` when it asks for plain HTTP.
    pub fn load(web: &WebConfig) -> Result<Option<Self>, TlsError> {
        let Some(tls) = &web.tls_server_config else {
            return Ok(None);
        };
        let served = build(web, tls)?;
        Ok(Some(Self {
            current: Arc::new(RwLock::new(Arc::new(served))),
        }))
    }

    /// Serves the files `web` names from the next handshake on. A web config without
    /// TLS is refused: a listener cannot drop to plain HTTP while running.
    pub fn reload(&self, web: &WebConfig) -> Result<(), TlsError> {
        let Some(tls) = &web.tls_server_config else {
            return Err(TlsError::new(
                "cert_file",
                "TLS is served since the start; turning it off needs a restart",
            ));
        };
        *self.current.write() = Arc::new(build(web, tls)?);
        Ok(())
    }

    /// `tcp` behind TLS speaking `alpn`.
    pub fn listen(&self, tcp: tokio::net::TcpListener, alpn: Alpn) -> std::io::Result<TlsListener> {
        TlsListener::start(tcp, self.clone(), alpn)
    }

    /// A client config trusting exactly the certificate served now (and after reloads).
    pub fn own_client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        pinned::client_config(self.clone()).map_err(|e| TlsError::new("cert_file", e.to_string()))
    }

    fn served(&self) -> Arc<Served> {
        self.current.read().clone()
    }
}

fn build(web: &WebConfig, tls: &TlsServerConfig) -> Result<Served, TlsError> {
    let chain = material::certificates(web, tls)?;
    let key = material::private_key(web, tls)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(tls))
        .map_err(|e| TlsError::new("min_version", e.to_string()))?;
    let builder = match tls.client_auth_type {
        ClientAuth::NoClientCert => builder.with_no_client_auth(),
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let mut roots = RootCertStore::empty();
            for ca in material::client_cas(web, tls)? {
                roots
                    .add(ca)
                    .map_err(|e| TlsError::new("client_ca_file", e.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match tls.client_auth_type {
                ClientAuth::VerifyClientCertIfGiven => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::new("client_ca_file", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        // Refused when the file is read; kept out here too for a config built by hand.
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            return Err(TlsError::new("client_auth_type", UNVERIFIED_CLIENT_CERTS))
        }
    };
    let leaf = chain
        .first()
        .cloned()
        .ok_or_else(|| TlsError::new("cert_file", "holds no certificate"))?;
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::new("key_file", format!("does not match the certificate: {e}")))?;
    let with_alpn = |protocol: &[u8]| {
        let mut c = config.clone();
        c.alpn_protocols = vec![protocol.to_vec()];
        Arc::new(c)
    };
    Ok(Served {
        http1: with_alpn(b"http/1.1"),
        h2: with_alpn(b"h2"),
        leaf,
        allowed_sans: allowed_sans(tls)?,
    })
}

fn versions(tls: &TlsServerConfig) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let min = tls.min_version.unwrap_or(TlsVersion::TLS12);
    let max = tls.max_version.unwrap_or(TlsVersion::TLS13);
    [
        (TlsVersion::TLS12, &rustls::version::TLS12),
        (TlsVersion::TLS13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (min..=max).contains(v))
    .map(|(_, p)| p)
    .collect()
}

fn allowed_sans(tls: &TlsServerConfig) -> Result<Vec<ServerName<'static>>, TlsError> {
    tls.client_allowed_sans
        .iter()
        .map(|san| {
            ServerName::try_from(san.clone()).map_err(|_| {
                TlsError::new(
                    "client_allowed_sans",
                    format!("{san:?} is neither a DNS name nor an IP address"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
