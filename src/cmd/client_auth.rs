//! How the CLI reaches a Taishan behind a web config: a bearer token, or a basic-auth
//! user whose password comes from the environment (never a flag, which other users of the
//! machine could read in the process list), and the CA its TLS certificate chains to.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

/// As whom the CLI asks, and whom it trusts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientAuth {
    /// Bearer token (a `taishan.tokens` entry of the web config).
    #[arg(long, env = "TAISHAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Basic-auth user; the password is read from TAISHAN_PASSWORD.
    #[arg(long, env = "TAISHAN_USER")]
    pub user: Option<String>,
    /// PEM CA certificate(s) the server's TLS certificate chains to (an https:// URL
    /// served with a certificate of your own CA); the system's roots are trusted too.
    #[arg(long, env = "TAISHAN_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

impl ClientAuth {
    /// `request` with the credential, if one is given.
    pub fn apply(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> anyhow::Result<reqwest::blocking::RequestBuilder> {
        Ok(match self.authorization()? {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
            None => request,
        })
    }

    /// The `Authorization` header value of the credential, if one is given.
    pub fn authorization(&self) -> anyhow::Result<Option<String>> {
        use base64::Engine as _;
        match (&self.token, &self.user) {
            (Some(_), Some(_)) => bail!("give --token or --user, not both"),
            (Some(token), None) => Ok(Some(format!("Bearer {token}"))),
            (None, Some(user)) => {
                let Ok(password) = std::env::var("TAISHAN_PASSWORD") else {
                    bail!("--user {user} needs its password in TAISHAN_PASSWORD");
                };
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Ok(Some(format!("Basic {pair}")))
            }
            (None, None) => Ok(None),
        }
    }

    /// A client trusting `--ca-file` beside the system's roots.
    pub fn client(&self, timeout: Option<Duration>) -> anyhow::Result<reqwest::blocking::Client> {
        let mut builder = reqwest::blocking::Client::builder();
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        for ca in self.cas()? {
            builder = builder.add_root_certificate(ca);
        }
        builder.build().context("building the HTTP client")
    }

    /// The async client of the same (a drill's runner).
    pub fn async_client(&self) -> anyhow::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder();
        for ca in self.cas()? {
            builder = builder.add_root_certificate(ca);
        }
        builder.build().context("building the HTTP client")
    }

    fn cas(&self) -> anyhow::Result<Vec<reqwest::Certificate>> {
        let Some(path) = &self.ca_file else {
            return Ok(Vec::new());
        };
        let pem =
            std::fs::read(path).with_context(|| format!("reading --ca-file {}", path.display()))?;
        let cas = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("--ca-file {}: not PEM certificates", path.display()))?;
        if cas.is_empty() {
            bail!("--ca-file {}: holds no certificate", path.display());
        }
        Ok(cas)
    }
}
