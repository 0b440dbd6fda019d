//! The credentials the CLI sends to a Taishan behind a web config: a bearer token, or a
//! basic-auth user whose password comes from the environment (never a flag, which other
//! users of the machine could read in the process list).

use anyhow::bail;

/// As whom the CLI asks.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientAuth {
    /// Bearer token (a `taishan.tokens` entry of the web config).
    #[arg(long, env = "TAISHAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Basic-auth user; the password is read from TAISHAN_PASSWORD.
    #[arg(long, env = "TAISHAN_USER")]
    pub user: Option<String>,
}

impl ClientAuth {
    /// `request` with the credential, if one is given.
    pub fn apply(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> anyhow::Result<reqwest::blocking::RequestBuilder> {
        match (&self.token, &self.user) {
            (Some(_), Some(_)) => bail!("give --token or --user, not both"),
            (Some(token), None) => Ok(request.bearer_auth(token)),
            (None, Some(user)) => {
                let Ok(password) = std::env::var("TAISHAN_PASSWORD") else {
                    bail!("--user {user} needs its password in TAISHAN_PASSWORD");
                };
                Ok(request.basic_auth(user, Some(password)))
            }
            (None, None) => Ok(request),
        }
    }
}
