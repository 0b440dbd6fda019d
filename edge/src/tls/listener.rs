//! A TCP listener whose connections come out after their TLS handshake.
//!
//! The accept loop hands each connection to a task of its own for the handshake (at most
//! [`HANDSHAKES`] at once, each given [`HANDSHAKE_TIME`]), so a client that connects and
//! says nothing delays no one; finished connections queue for the server. The loop ends
//! when the server drops the listener, which frees the port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::TlsAcceptor;

use super::{Alpn, ServerTls};

/// A connection after its handshake.
pub type TlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// Handshakes under way at once; connections beyond are closed at once.
const HANDSHAKES: usize = 512;
/// Time a client has to finish its handshake.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// Connections that finished their handshake, for `axum::serve` (or as a stream, for
/// the gRPC server).
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub(super) fn start(tcp: TcpListener, tls: ServerTls, alpn: Alpn) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (sender, ready) = mpsc::channel(HANDSHAKES);
        tokio::spawn(accept_loop(tcp, tls, alpn, sender));
        Ok(Self { ready, local })
    }

    /// The connections, one by one (`None` once the accept loop has ended).
    pub async fn next(&mut self) -> Option<(TlsStream, SocketAddr)> {
        self.ready.recv().await
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.next().await {
            Some(connection) => connection,
            // The accept loop only ends once this listener is gone; wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    tls: ServerTls,
    alpn: Alpn,
    ready: mpsc::Sender<(TlsStream, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            _ = ready.closed() => return,
            accepted = tcp.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                // Out of descriptors, mostly: wait for some to close rather than spin.
                tracing::warn!(error = %e, "accepting a TLS connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(turn) = handshakes.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many TLS handshakes under way; connection closed");
            continue;
        };
        let (tls, ready) = (tls.clone(), ready.clone());
        tokio::spawn(async move {
            let _turn = turn;
            if let Some(secured) = handshake(&tls, alpn, stream, peer).await {
                let _ = ready.send((secured, peer)).await;
            }
        });
    }
}

async fn handshake(
    tls: &ServerTls,
    alpn: Alpn,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream> {
    let served = tls.served();
    let config = match alpn {
        Alpn::Http1 => served.http1.clone(),
        Alpn::H2 => served.h2.clone(),
    };
    let _ = stream.set_nodelay(true);
    let secured = match tokio::time::timeout(
        HANDSHAKE_TIME,
        TlsAcceptor::from(config).accept(stream),
    )
    .await
    {
        Ok(Ok(secured)) => secured,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake not finished in time");
            return None;
        }
    };
    let leaf = secured
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first());
    match (leaf, served.allowed_sans.is_empty()) {
        (Some(leaf), false) if !names_allowed(leaf, &served.allowed_sans) => {
            tracing::warn!(%peer, "client certificate carries none of client_allowed_sans; connection closed");
            None
        }
        _ => Some(secured),
    }
}

/// Whether the client certificate `leaf` is valid for one of `allowed`.
fn names_allowed(
    leaf: &rustls::pki_types::CertificateDer<'_>,
    allowed: &[rustls::pki_types::ServerName<'static>],
) -> bool {
    let Ok(cert) = webpki::EndEntityCert::try_from(leaf) else {
        return false;
    };
    allowed
        .iter()
        .any(|name| cert.verify_is_valid_for_subject_name(name).is_ok())
}
