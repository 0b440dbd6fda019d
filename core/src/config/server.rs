//! `server:` where Taishan listens.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Listening addresses.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the UI, query API, ingest API and `/metrics`. Default `127.0.0.1:7070`.
    #[serde(default = "default_http_listen")]
    pub http_listen: SocketAddr,
}

fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7070))
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http_listen: default_http_listen(),
        }
    }
}
