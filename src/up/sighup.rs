//! SIGHUP, the Unix way of asking a server to re-read its files: one loop for every part of
//! `taishan up` that reloads on it (the rules, the alerter).

use std::future::Future;

use tokio_util::sync::CancellationToken;

/// Runs `reload` at each SIGHUP until `cancel` (never, where there are no signals).
pub async fn on_each_sighup<F, Fut>(cancel: CancellationToken, mut reload: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = hup.recv() => reload().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = &mut reload;
        cancel.cancelled().await;
    }
}
