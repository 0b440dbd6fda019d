//! Certificates made by `openssl` for each test: a CA, a server certificate for
//! `taishan.test` and a client certificate for `sre.taishan.test`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name.crt` and `name.key` signed by `ca.crt`, valid for `san`.
fn issue(dir: &Path, name: &str, san: &str) {
    let key = format!("{name}.key");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
    );
    let csr = format!("{name}.csr");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-subj",
            &format!("/CN={san}"),
            "-out",
            &csr,
        ],
    );
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), format!("subjectAltName=DNS:{san}\n")).unwrap();
    let crt = format!("{name}.crt");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ],
    );
    std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-subj",
            "/CN=Taishan test CA",
            "-days",
            "2",
            "-out",
            "ca.crt",
        ],
    );
    issue(d, "server", "taishan.test");
    issue(d, "client", "sre.taishan.test");
    dir
}

fn web(dir: &Path, tls: &str) -> WebConfig {
    let text =
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{tls}");
    WebConfig::parse("web.yml", &text, dir.to_path_buf()).expect("web config parses")
}

fn refusal(web: &WebConfig) -> String {
    match ServerTls::load(web) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_key_others_may_read_or_an_empty_one_is_refused() {
    let dir = pki();
    let key = dir.path().join("server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let why = refusal(&web(dir.path(), ""));
    assert!(why.starts_with("tls_server_config.key_file: "), "{why}");
    assert!(
        why.contains("mode 0644") && why.contains("chmod 600"),
        "{why}"
    );
    std::fs::write(&key, "\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(refusal(&web(dir.path(), "")).contains("is empty"));
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = pki();
    let text = "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n";
    let web = WebConfig::parse("web.yml", text, dir.path().to_path_buf()).unwrap();
    assert!(refusal(&web).contains("does not match the certificate"));
}

#[test]
fn unverified_client_certificates_are_refused() {
    let dir = pki();
    for kind in ["RequestClientCert", "RequireAnyClientCert"] {
        let text = format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: {kind}\n");
        let diags = WebConfig::parse("web.yml", &text, dir.path().to_path_buf()).unwrap_err();
        let why = diags[0].to_string();
        assert!(why.starts_with("web.yml:4:"), "{why}");
        assert!(
            why.contains("client_auth_type") && why.contains("proves nothing"),
            "{why}"
        );
    }
}

/// Serves one echo of "ok" per connection behind `tls`; the client's result.
async fn exchange(
    tls: &ServerTls,
    client: Arc<ClientConfig>,
    name: &str,
) -> std::io::Result<String> {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = tcp.local_addr()?;
    let mut listener = tls.listen(tcp, Alpn::Http1)?;
    tokio::spawn(async move {
        while let Some((mut stream, _)) = listener.next().await {
            let _ = stream.write_all(b"ok").await;
            let _ = stream.shutdown().await;
        }
    });
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_string()).unwrap();
    let mut secured = TlsConnector::from(client).connect(name, stream).await?;
    let mut answer = String::new();
    secured.read_to_string(&mut answer).await?;
    Ok(answer)
}

fn trusting(dir: &Path, with_client_cert: bool) -> Arc<ClientConfig> {
    let pem = std::fs::read(dir.join("ca.crt")).unwrap();
    let mut roots = RootCertStore::empty();
    for ca in material_certs(&pem) {
        roots.add(ca).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match with_client_cert {
        false => builder.with_no_client_auth(),
        true => {
            use rustls::pki_types::pem::PemObject;
            let chain = material_certs(&std::fs::read(dir.join("client.crt")).unwrap());
            let key =
                rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("client.key")).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    })
}

fn material_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

#[tokio::test]
async fn clients_trusting_the_ca_and_taishans_own_clients_connect() {
    let dir = pki();
    let tls = ServerTls::load(&web(dir.path(), "")).unwrap().unwrap();
    let by_ca = exchange(&tls, trusting(dir.path(), false), "taishan.test").await;
    assert_eq!(by_ca.unwrap(), "ok");
    // Taishan's own clients reach 127.0.0.1, a name the certificate does not carry.
    let own = exchange(&tls, tls.own_client_config().unwrap(), "127.0.0.1").await;
    assert_eq!(own.unwrap(), "ok");
    // A client pinned to another Taishan's certificate is refused.
    let other = pki();
    let other_tls = ServerTls::load(&web(other.path(), "")).unwrap().unwrap();
    assert!(
        exchange(&tls, other_tls.own_client_config().unwrap(), "127.0.0.1")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_required_client_certificate_must_chain_to_the_ca_and_carry_an_allowed_name() {
    let dir = pki();
    let required = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n";
    let tls = ServerTls::load(&web(dir.path(), required))
        .unwrap()
        .unwrap();
    let without = exchange(&tls, trusting(dir.path(), false), "taishan.test").await;
    assert!(without.is_err(), "no client certificate: {without:?}");
    let with = exchange(&tls, trusting(dir.path(), true), "taishan.test").await;
    assert_eq!(with.unwrap(), "ok");

    let allowed = format!("{required}  client_allowed_sans: [oncall.taishan.test]\n");
    let tls = ServerTls::load(&web(dir.path(), &allowed))
        .unwrap()
        .unwrap();
    let wrong_name = exchange(&tls, trusting(dir.path(), true), "taishan.test").await;
    assert!(!matches!(wrong_name.as_deref(), Ok("ok")), "{wrong_name:?}");
    let allowed = format!("{required}  client_allowed_sans: [sre.taishan.test]\n");
    let tls = ServerTls::load(&web(dir.path(), &allowed))
        .unwrap()
        .unwrap();
    let right_name = exchange(&tls, trusting(dir.path(), true), "taishan.test").await;
    assert_eq!(right_name.unwrap(), "ok");
}

#[tokio::test]
async fn a_reload_serves_the_new_certificate_to_the_next_handshake() {
    let dir = pki();
    let tls = ServerTls::load(&web(dir.path(), "")).unwrap().unwrap();
    let pinned_before = tls.own_client_config().unwrap();
    let other = pki();
    tls.reload(&web(other.path(), "")).unwrap();
    assert!(
        exchange(&tls, trusting(other.path(), false), "taishan.test")
            .await
            .is_ok()
    );
    assert!(exchange(&tls, trusting(dir.path(), false), "taishan.test")
        .await
        .is_err());
    // The own clients follow the certificate served now.
    assert!(exchange(&tls, pinned_before, "127.0.0.1").await.is_ok());
    let plain = WebConfig::parse("web.yml", "", dir.path().to_path_buf()).unwrap();
    assert!(tls
        .reload(&plain)
        .unwrap_err()
        .to_string()
        .contains("needs a restart"));
}
