//! A certificate authority for one test, made with the `openssl` command: the server's
//! certificate names `localhost` and `127.0.0.1`, as clients on loopback check them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files: `ca.crt`, `server.crt` and `server.key` (mode 0600) in `dir`.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    /// Makes the CA and the server's certificate in `dir`.
    pub fn make(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            dir,
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-subj",
                    "/CN=test CA",
                    "-days",
                    "2",
                    "-out",
                    "ca.crt",
                ],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                &["req", "-new"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-subj",
                    "/CN=localhost",
                    "-out",
                    "server.csr",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt",
            ],
        );
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The path of one of the files.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// `tls_server_config:` serving the server's certificate.
    pub fn web_config_tls(&self) -> String {
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            self.path("server.crt").display(),
            self.path("server.key").display()
        )
    }

    /// A blocking client trusting the CA.
    pub fn client(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(self.path("ca.crt")).unwrap();
        reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap()
    }
}

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
