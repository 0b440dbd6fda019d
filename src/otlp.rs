//! The OTLP listeners of `taishan up`: OTLP/gRPC and OTLP/HTTP, each on its own port as
//! OpenTelemetry SDKs expect (4317 and 4318 by default).

use std::net::SocketAddr;

use anyhow::Context;
use taishan_collector::{otlp_grpc_services, otlp_http_routes, OtlpState};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The running OTLP servers.
pub struct OtlpServers {
    /// Where OTLP/gRPC listens.
    pub grpc: SocketAddr,
    /// Where OTLP/HTTP listens.
    pub http: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl OtlpServers {
    /// Binds both addresses and serves until `cancel` fires.
    pub async fn start(
        state: OtlpState,
        grpc: SocketAddr,
        http: SocketAddr,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        let grpc_listener = tokio::net::TcpListener::bind(grpc)
            .await
            .with_context(|| format!("binding OTLP/gRPC on {grpc}"))?;
        let http_listener = tokio::net::TcpListener::bind(http)
            .await
            .with_context(|| format!("binding OTLP/HTTP on {http}"))?;
        let grpc = grpc_listener
            .local_addr()
            .context("reading the OTLP/gRPC address")?;
        let http = http_listener
            .local_addr()
            .context("reading the OTLP/HTTP address")?;

        let routes = otlp_grpc_services(state.clone());
        let stop = cancel.clone();
        let grpc_task = tokio::spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc_listener);
            let served = tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "OTLP/gRPC server stopped");
            }
        });
        let stop = cancel;
        let http_task = tokio::spawn(async move {
            let served = axum::serve(http_listener, otlp_http_routes(state))
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "OTLP/HTTP server stopped");
            }
        });
        Ok(Self {
            grpc,
            http,
            tasks: vec![grpc_task, http_task],
        })
    }

    /// Waits for both servers to finish after cancellation.
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
