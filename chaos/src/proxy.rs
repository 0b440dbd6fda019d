//! A TCP fault proxy: it listens on one address and relays every connection to its upstream,
//! consulting the fault set on each chunk of data for the network faults scoped to its name
//! (`net_latency`, `net_bandwidth`, `net_reset`, `net_blackhole`). It knows nothing of what
//! crosses it, so any TCP peer can be drilled: put the proxy between a client and its
//! server and point the client at the proxy. With no fault armed a chunk costs one atomic
//! load on top of the copy.
//!
//! Faults are consulted per chunk, not per connection, so pooled keep-alive connections are
//! touched as soon as a fault is armed and clean as soon as it is taken back. A share of
//! traffic is a share of the connections: each draws once when it is accepted.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::faults::LinkEffect;
use crate::set::FaultSet;

/// The most a chunk read at once (a throttled chunk is written in smaller slices).
const CHUNK: usize = 16 * 1024;
/// How long a throttled slice of data takes at most: writes happen at least this often.
const THROTTLE_SLICE: Duration = Duration::from_millis(100);

/// A fault proxy bound to its address.
#[derive(Debug)]
pub struct FaultProxy {
    name: Arc<str>,
    listener: TcpListener,
    upstream: String,
    faults: FaultSet,
}

impl FaultProxy {
    /// Binds `listen`; connections will be relayed to `upstream` (`host:port`), and faults
    /// scoped to service `name` act on them.
    pub async fn bind(
        name: &str,
        listen: SocketAddr,
        upstream: impl Into<String>,
        faults: FaultSet,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("fault proxy {name}: binding {listen}: {e}"),
            )
        })?;
        Ok(Self {
            name: name.into(),
            listener,
            upstream: upstream.into(),
            faults,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Relays connections until `shutdown` completes; then every open connection is closed.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tracing::info!(proxy = %self.name, listen = ?self.listener.local_addr().ok(), upstream = %self.upstream, "fault proxy relaying");
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                accepted = self.listener.accept() => match accepted {
                    Ok((client, _)) => {
                        let link = Link {
                            name: self.name.clone(),
                            faults: self.faults.clone(),
                            draw: self.faults.draw(),
                        };
                        connections.spawn(relay(client, self.upstream.clone(), link));
                    }
                    Err(e) => {
                        // Out of descriptors and the like: wait, do not spin.
                        tracing::warn!(proxy = %self.name, error = %e, "fault proxy cannot accept");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }
}

/// One connection's view of the faults on its proxy.
#[derive(Clone)]
struct Link {
    name: Arc<str>,
    faults: FaultSet,
    draw: f64,
}

impl Link {
    fn effect(&self) -> Option<LinkEffect> {
        self.faults.link(&self.name, self.draw)
    }
}

async fn relay(client: TcpStream, upstream: String, link: Link) {
    if link.effect() == Some(LinkEffect::Reset) {
        let _ = client.set_zero_linger();
        return;
    }
    let server = match TcpStream::connect(&upstream).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(proxy = %link.name, %upstream, error = %e, "fault proxy cannot reach its upstream");
            let _ = client.set_zero_linger();
            return;
        }
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (client_in, client_out) = client.into_split();
    let (server_in, server_out) = server.into_split();
    // A reset in either direction ends both (and drops every half, resetting both sockets).
    let _ = tokio::try_join!(
        pump(client_in, server_out, &link),
        pump(server_in, client_out, &link)
    );
}

/// Copies `from` to `to`, chunk by chunk, doing to each what the faults say.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: &Link) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            // Pass the close on; the other direction may still be talking.
            let _ = to.shutdown().await;
            return Ok(());
        }
        let chunk = &buf[..n];
        match link.effect() {
            None => to.write_all(chunk).await?,
            Some(LinkEffect::Delay(d)) => {
                tokio::time::sleep(d).await;
                to.write_all(chunk).await?;
            }
            Some(LinkEffect::Throttle(rate)) => throttled(&mut to, chunk, rate).await?,
            Some(LinkEffect::Blackhole) => {}
            Some(LinkEffect::Reset) => {
                let _ = from.as_ref().set_zero_linger();
                let _ = to.as_ref().set_zero_linger();
                return Err(io::ErrorKind::ConnectionReset.into());
            }
        }
    }
}

/// Writes `chunk` at `rate` bytes a second, a slice at a time.
async fn throttled(to: &mut OwnedWriteHalf, chunk: &[u8], rate: u64) -> io::Result<()> {
    let per_slice = ((rate as f64 * THROTTLE_SLICE.as_secs_f64()) as usize).max(1);
    for slice in chunk.chunks(per_slice) {
        to.write_all(slice).await?;
        tokio::time::sleep(Duration::from_secs_f64(slice.len() as f64 / rate as f64)).await;
    }
    Ok(())
}
