//! `server:` where Taishan listens.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use taishan_core::config::Section;

/// Listening addresses.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the UI, query API, ingest API and `/metrics`. Default `127.0.0.1:7070`.
    #[serde(default = "default_http_listen")]
    pub http_listen: SocketAddr,
    /// Address of the OTLP/gRPC receiver. Default `127.0.0.1:4317`.
    #[serde(default = "default_otlp_grpc_listen")]
    pub otlp_grpc_listen: SocketAddr,
    /// Address of the OTLP/HTTP receiver (`/v1/traces`, `/v1/metrics`, `/v1/logs`).
    /// Default `127.0.0.1:4318`.
    #[serde(default = "default_otlp_http_listen")]
    pub otlp_http_listen: SocketAddr,
    /// The web config (Prometheus's `web.yml` format with Taishan's identities): TLS and
    /// credentials for every listener. Default: none (loopback only).
    #[serde(default)]
    pub web_config: Option<PathBuf>,
    /// Host names requests may name (DNS rebinding). Default: the loopback names and the
    /// listen addresses while every listener is on loopback; any host otherwise.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// TSDB administration over HTTP (`/api/v1/admin/tsdb/*`), as Prometheus's
    /// `--web.enable-admin-api`. Default: on while every listener is on loopback (the
    /// demo), off otherwise.
    #[serde(default)]
    pub enable_admin_api: Option<bool>,
    /// Reload over HTTP (`POST /-/reload`), as Prometheus's `--web.enable-lifecycle`.
    /// Default: as `enable_admin_api`.
    #[serde(default)]
    pub enable_lifecycle: Option<bool>,
}

fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7070))
}

fn default_otlp_grpc_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4317))
}

fn default_otlp_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4318))
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http_listen: default_http_listen(),
            otlp_grpc_listen: default_otlp_grpc_listen(),
            otlp_http_listen: default_otlp_http_listen(),
            web_config: None,
            allowed_hosts: Vec::new(),
            enable_admin_api: None,
            enable_lifecycle: None,
        }
    }
}

impl Section for ServerConfig {
    const NAME: &'static str = "server";
}
