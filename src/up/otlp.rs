//! The OTLP listeners of `taishan up`: OTLP/gRPC and OTLP/HTTP, each on its own port as
//! OpenTelemetry SDKs expect (4317 and 4318 by default), serving what the receivers put
//! there. A listener no receiver uses is not opened.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The running OTLP servers.
pub struct OtlpServers {
    /// Where OTLP/gRPC listens, when it does.
    pub grpc: Option<SocketAddr>,
    /// Where OTLP/HTTP listens, when it does.
    pub http: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

/// What to serve on each OTLP address (`None`: no receiver uses it).
pub struct OtlpEndpoints {
    /// gRPC services and the address to bind.
    pub grpc: Option<(tonic::service::Routes, SocketAddr)>,
    /// HTTP routes and the address to bind.
    pub http: Option<(axum::Router, SocketAddr)>,
}

impl OtlpServers {
    /// Binds the addresses and serves until `cancel` fires.
    pub async fn start(
        endpoints: OtlpEndpoints,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        let mut servers = Self {
            grpc: None,
            http: None,
            tasks: Vec::new(),
        };
        if let Some((routes, addr)) = endpoints.grpc {
            let listener = bind("OTLP/gRPC", addr).await?;
            servers.grpc = Some(
                listener
                    .local_addr()
                    .context("reading the OTLP/gRPC address")?,
            );
            let stop = cancel.clone();
            servers.tasks.push(tokio::spawn(async move {
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let served = tonic::transport::Server::builder()
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "OTLP/gRPC server stopped");
                }
            }));
        }
        if let Some((router, addr)) = endpoints.http {
            let listener = bind("OTLP/HTTP", addr).await?;
            servers.http = Some(
                listener
                    .local_addr()
                    .context("reading the OTLP/HTTP address")?,
            );
            servers.tasks.push(tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(cancel.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "OTLP/HTTP server stopped");
                }
            }));
        }
        Ok(servers)
    }

    /// Waits for the servers to finish after cancellation.
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn bind(what: &str, addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {what} on {addr}"))
}
