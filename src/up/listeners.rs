//! Taishan's own listeners: the API address (7070), OTLP/gRPC (4317) and OTLP/HTTP (4318)
//! as OpenTelemetry SDKs expect, and the alerter's Alertmanager API (9093). All are bound
//! before any part is built, so every part knows every address (the alerter its external
//! URL, self-scraping the API's, the demo the OTLP receiver's); an OTLP listener no
//! receiver uses is not opened. Each serves the routes the parts put on it, behind the
//! layers the edge gives that listener, and inside TLS when the web config asks for it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use anyhow::Context;
use axum::serve::ListenerExt;
use axum::Router;
use taishan_collector::receivers::{select, Listener};
use taishan_edge::tls::{Alpn, TlsStream};
use taishan_edge::{Edge, ListenerKind, ServerTls};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::part::Endpoint;

/// Where each listener is bound.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    /// The API address.
    pub api: SocketAddr,
    /// OTLP/gRPC, when a receiver uses it.
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP, when a receiver uses it.
    pub otlp_http: Option<SocketAddr>,
    /// The alerter's API.
    pub alerter: SocketAddr,
}

/// The listeners, bound and not serving yet.
pub struct Listeners {
    api: TcpListener,
    otlp_grpc: Option<TcpListener>,
    otlp_http: Option<TcpListener>,
    alerter: TcpListener,
    /// Their addresses.
    pub addresses: Addresses,
}

impl Listeners {
    /// Binds every address `config` names (port 0 picks a free port).
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let receivers = select(config.ingest.receivers.as_deref())?;
        let uses = |l: Listener| receivers.iter().any(|r| r.summary().listener == l);
        let api = bind("the API", config.server.http_listen).await?;
        let otlp_grpc = match uses(Listener::OtlpGrpc) {
            true => Some(bind("OTLP/gRPC", config.server.otlp_grpc_listen).await?),
            false => None,
        };
        let otlp_http = match uses(Listener::OtlpHttp) {
            true => Some(bind("OTLP/HTTP", config.server.otlp_http_listen).await?),
            false => None,
        };
        let alerter = bind("the alerter API", config.alerter.listen).await?;
        let addr = |l: &TcpListener| l.local_addr().context("reading a bound address");
        let addresses = Addresses {
            api: addr(&api)?,
            otlp_grpc: otlp_grpc.as_ref().map(addr).transpose()?,
            otlp_http: otlp_http.as_ref().map(addr).transpose()?,
            alerter: addr(&alerter)?,
        };
        Ok(Self {
            api,
            otlp_grpc,
            otlp_http,
            alerter,
            addresses,
        })
    }

    /// Serves `endpoints` on their listeners, each behind its layers, until `cancel`.
    pub fn serve(
        self,
        endpoints: Vec<Endpoint>,
        edge: &Edge,
        cancel: &CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let mut routers = [
            (ListenerKind::Api, Router::new()),
            (ListenerKind::OtlpHttp, Router::new()),
            (ListenerKind::Alerter, Router::new()),
        ];
        let mut grpc = axum::Router::new();
        for endpoint in endpoints {
            match endpoint {
                Endpoint::Http(kind, routes) => {
                    if let Some((_, router)) = routers.iter_mut().find(|(k, _)| *k == kind) {
                        *router = std::mem::take(router).merge(routes);
                    }
                }
                Endpoint::OtlpGrpc(routes) => grpc = grpc.merge(routes.into_axum_router()),
            }
        }
        let [api, otlp_http, alerter] = routers.map(|(kind, r)| edge.wrap(kind, r));
        let tls = edge.tls();
        let mut tasks = vec![
            http_server("the API", self.api, api, tls, cancel),
            http_server("the alerter API", self.alerter, alerter, tls, cancel),
        ];
        if let Some(listener) = self.otlp_http {
            tasks.push(http_server("OTLP/HTTP", listener, otlp_http, tls, cancel));
        }
        if let Some(listener) = self.otlp_grpc {
            let grpc = edge.wrap(ListenerKind::OtlpGrpc, grpc);
            tasks.push(grpc_server(listener, grpc.into(), tls, cancel));
        }
        tasks
    }
}

async fn bind(what: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {what} on {addr}"))
}

fn http_server(
    what: &'static str,
    listener: TcpListener,
    app: Router,
    tls: Option<&ServerTls>,
    cancel: &CancellationToken,
) -> JoinHandle<()> {
    let stop = cancel.clone().cancelled_owned();
    // The client's address reaches the edge (the audit trail's source).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let tls = tls.cloned();
    tokio::spawn(async move {
        let served = match tls {
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            }
            Some(tls) => match tls.listen(listener, Alpn::Http1) {
                // tap_io keeps the connection's address as its ConnectInfo.
                Ok(secured) => {
                    let secured = secured.tap_io(|_| ());
                    axum::serve(secured, app).with_graceful_shutdown(stop).await
                }
                Err(e) => Err(e),
            },
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "{what} stopped serving");
        }
    })
}

fn grpc_server(
    listener: TcpListener,
    routes: tonic::service::Routes,
    tls: Option<&ServerTls>,
    cancel: &CancellationToken,
) -> JoinHandle<()> {
    let stop = cancel.clone().cancelled_owned();
    let tls = tls.cloned();
    let server = tonic::transport::Server::builder().add_routes(routes);
    tokio::spawn(async move {
        let served = match tls {
            None => {
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                server.serve_with_incoming_shutdown(incoming, stop).await
            }
            Some(tls) => match tls.listen(listener, Alpn::H2) {
                Ok(secured) => {
                    let incoming = futures_util::stream::unfold(secured, |mut l| async move {
                        let (stream, _) = l.next().await?;
                        Some((Ok::<_, std::io::Error>(GrpcTls(stream)), l))
                    });
                    server.serve_with_incoming_shutdown(incoming, stop).await
                }
                Err(e) => {
                    tracing::error!(error = %e, "OTLP/gRPC not served");
                    return;
                }
            },
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "OTLP/gRPC stopped serving");
        }
    })
}

/// A TLS connection as the gRPC server takes it.
struct GrpcTls(TlsStream);

impl tonic::transport::server::Connected for GrpcTls {
    type ConnectInfo = Option<SocketAddr>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.get_ref().0.peer_addr().ok()
    }
}

impl AsyncRead for GrpcTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for GrpcTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
