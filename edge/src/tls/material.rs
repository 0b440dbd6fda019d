//! The files TLS is made of, read with the checks a key deserves: a key file that is
//! empty, or that the group or others may read, is refused (as `ssh` refuses such a key),
//! and no file larger than a certificate bundle can be is read at all.

use std::io::Read;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;
use crate::webconfig::{TlsServerConfig, WebConfig};

/// Larger than any certificate bundle or key (the system's CA bundle is ~200 KiB).
const LARGEST_PEM: u64 = 4 << 20;

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

/// The bytes of `path`; a secret must be non-empty and private to its owner.
fn read(field: &'static str, path: &Path, secret: bool) -> Result<Vec<u8>, TlsError> {
    let at = |reason: String| TlsError::new(field, format!("{}: {reason}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| at(e.to_string()))?;
    let meta = file.metadata().map_err(|e| at(e.to_string()))?;
    if secret {
        check_private(&meta).map_err(at)?;
    }
    if meta.len() > LARGEST_PEM {
        return Err(at(format!(
            "{} bytes is more than any PEM file needs ({LARGEST_PEM})",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(LARGEST_PEM)
        .read_to_end(&mut bytes)
        .map_err(|e| at(e.to_string()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(at("is empty".into()));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn check_private(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {mode:04o} lets others read the key; make it 0600 (chmod 600)"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}
