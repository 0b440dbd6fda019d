//! Where a service module serves: its router on its address, able to crash and restart in
//! place as a `crash` fault asks. A crash drops the listener (new connections are refused)
//! and every open connection (what was in flight is cut), as a killed process would; a
//! restart binds the same address again and serves the same router, with the module's state
//! as it was (its database is what a restarted process would read).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use taishan_chaos::ServiceModule;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// How often a restart tries to bind its address again, and how long.
const REBIND_EVERY: Duration = Duration::from_millis(100);
const REBIND_TRIES: u32 = 50;

/// One service module's server.
pub struct ServiceHost {
    name: &'static str,
    addr: SocketAddr,
    router: Router,
    runtime: Handle,
    cancel: CancellationToken,
    serving: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for ServiceHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHost")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish()
    }
}

impl ServiceHost {
    /// Serves `router` on `listener` until `cancel`; must be called within the runtime.
    pub fn start(
        name: &'static str,
        listener: TcpListener,
        router: Router,
        cancel: CancellationToken,
    ) -> std::io::Result<Arc<Self>> {
        let host = Arc::new(Self {
            name,
            addr: listener.local_addr()?,
            router,
            runtime: Handle::current(),
            cancel,
            serving: Mutex::new(None),
        });
        host.serve(listener);
        Ok(host)
    }

    fn serve(&self, listener: TcpListener) {
        let task = self.runtime.spawn(serve(
            self.name,
            listener,
            self.router.clone(),
            self.cancel.clone(),
        ));
        *self.serving.lock() = Some(task);
    }

    /// Waits for it to stop serving (after its cancellation).
    pub(crate) async fn stopped(&self) {
        let task = self.serving.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn rebind(&self) -> std::io::Result<TcpListener> {
        let _in_runtime = self.runtime.enter();
        let listener = std::net::TcpListener::bind(self.addr)?;
        listener.set_nonblocking(true)?;
        TcpListener::from_std(listener)
    }
}

impl ServiceModule for ServiceHost {
    fn crash(&self) {
        if let Some(task) = self.serving.lock().take() {
            // Dropping the serving task drops its listener and every connection with it.
            task.abort();
        }
    }

    fn restart(&self) {
        if self.serving() || self.cancel.is_cancelled() {
            return;
        }
        for _ in 0..REBIND_TRIES {
            match self.rebind() {
                Ok(listener) => {
                    // The crash fault that asked logs the crash and the restart.
                    self.serve(listener);
                    return;
                }
                Err(e) => {
                    tracing::warn!(service = self.name, addr = %self.addr, error = %e, "service module cannot bind its address yet");
                    std::thread::sleep(REBIND_EVERY);
                }
            }
        }
        tracing::error!(service = self.name, addr = %self.addr, "service module could not restart: its address stays taken");
    }

    fn serving(&self) -> bool {
        self.serving
            .lock()
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

/// Accepts and serves connections until `cancel`; dropping it cuts every connection.
async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    cancel: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = TowerToHyperService::new(router.clone());
                    connections.spawn(async move {
                        let conn = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service);
                        if let Err(e) = conn.await {
                            tracing::debug!(service = name, error = %e, "connection ended badly");
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: wait, do not spin.
                    tracing::warn!(service = name, error = %e, "cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
