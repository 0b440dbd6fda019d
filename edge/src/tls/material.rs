//! The files TLS is made of, read with the checks a key deserves: a key file that is
//! empty, or that the group or others may read, is refused (as `ssh` refuses such a key),
//! and no file larger than a certificate bundle can be is read at all.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use taishan_core::secret::{read_file_checked, LARGEST_SECRET_FILE};

use super::TlsError;
use crate::webconfig::{TlsServerConfig, WebConfig};

/// Larger than any certificate bundle or key (the system's CA bundle is ~200 KiB).
const LARGEST_PEM: u64 = LARGEST_SECRET_FILE;

/// The certificate chain served, leaf first.
pub(super) fn certificates(
    web: &WebConfig,
    tls: &TlsServerConfig,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = match tls.cert.is_empty() {
        false => tls.cert.as_bytes().to_vec(),
        true => read("cert_file", &web.resolve(&tls.cert_file), false)?,
    };
    pem_certificates("cert_file", &pem)
}

/// The private key of the certificate.
pub(super) fn private_key(
    web: &WebConfig,
    tls: &TlsServerConfig,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let path = web.resolve(&tls.key_file);
    let pem = read("key_file", &path, true)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        TlsError::new(
            "key_file",
            format!("{}: no PEM private key in it ({e})", path.display()),
        )
    })
}

/// The CAs client certificates must chain to.
pub(super) fn client_cas(
    web: &WebConfig,
    tls: &TlsServerConfig,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read("client_ca_file", &web.resolve(&tls.client_ca_file), false)?;
    pem_certificates("client_ca_file", &pem)
}

fn pem_certificates(
    field: &'static str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(field, format!("not PEM certificates: {e}")))?;
    match certificates.is_empty() {
        true => Err(TlsError::new(field, "holds no PEM certificate")),
        false => Ok(certificates),
    }
}

/// The bytes of `path`, checked as `taishan_core::secret` checks files (a key must be
/// private to its owner and non-empty).
fn read(field: &'static str, path: &Path, secret: bool) -> Result<Vec<u8>, TlsError> {
    read_file_checked(path, LARGEST_PEM, secret).map_err(|why| TlsError::new(field, why))
}
