//! The one tick-and-cancel loop of Taishan's background work: wait for the next period or
//! for cancellation, whichever comes first. A late tick is delayed, not bunched, so slow
//! work is never run twice in a row to catch up.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Ticks every period until cancelled.
#[derive(Debug)]
pub struct Ticker {
    interval: Interval,
    cancel: CancellationToken,
}

impl Ticker {
    /// Ticks at once, then every `period`.
    pub fn new(period: Duration, cancel: CancellationToken) -> Self {
        Self::starting_at(tokio::time::Instant::now(), period, cancel)
    }

    /// Ticks first one `period` from now.
    pub fn after_first_period(period: Duration, cancel: CancellationToken) -> Self {
        Self::starting_at(tokio::time::Instant::now() + period, period, cancel)
    }

    fn starting_at(
        start: tokio::time::Instant,
        period: Duration,
        cancel: CancellationToken,
    ) -> Self {
        let mut interval = tokio::time::interval_at(start, period.max(Duration::from_millis(1)));
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { interval, cancel }
    }

    /// Waits for the next tick: true when it came, false once cancelled.
    pub async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = self.interval.tick() => true,
        }
    }
}

/// Runs `work` at every tick of `ticker` until it is cancelled.
pub async fn run_every<F, Fut>(mut ticker: Ticker, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    while ticker.tick().await {
        work().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_until_cancelled() {
        let cancel = CancellationToken::new();
        let mut ticker = Ticker::after_first_period(Duration::from_secs(10), cancel.clone());
        let start = tokio::time::Instant::now();
        assert!(ticker.tick().await);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        assert!(ticker.tick().await);
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        cancel.cancel();
        assert!(!ticker.tick().await);
        let mut at_once = Ticker::new(Duration::from_secs(10), CancellationToken::new());
        let start = tokio::time::Instant::now();
        assert!(at_once.tick().await);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
