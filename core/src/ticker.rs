//! The one tick-and-cancel loop of Taishan's background work: wait for the next period or
//! for cancellation, whichever comes first. A late tick is delayed, not bunched, so slow
//! work is never run twice in a row to catch up. It ticks in real time, for housekeeping,
//! or on the injected clock ([`Ticker::on`]) for work whose timing is part of what it
//! computes, so tests move a manual clock to make it tick.

use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::clock::Interval;

/// Ticks every period until cancelled.
#[derive(Debug)]
pub struct Ticker {
    source: Source,
    cancel: CancellationToken,
}

#[derive(Debug)]
enum Source {
    RealTime(tokio::time::Interval),
    Clock(Interval),
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
        Self {
            source: Source::RealTime(interval),
            cancel,
        }
    }

    /// Ticks at the ticks of `interval`, on its clock.
    pub fn on(interval: Interval, cancel: CancellationToken) -> Self {
        Self {
            source: Source::Clock(interval),
            cancel,
        }
    }

    /// Waits for the next tick: true when it came, false once cancelled.
    pub async fn tick(&mut self) -> bool {
        let tick = async {
            match &mut self.source {
                Source::RealTime(interval) => {
                    interval.tick().await;
                }
                Source::Clock(interval) => {
                    interval.tick().await;
                }
            }
        };
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tick => true,
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

    #[tokio::test]
    async fn on_the_injected_clock_it_ticks_when_the_clock_is_moved() {
        use crate::{Clock, ManualClock};
        use std::sync::Arc;
        let manual = Arc::new(ManualClock::at(0));
        let clock: Arc<dyn Clock> = manual.clone();
        let cancel = CancellationToken::new();
        let every = Interval::after_first_period(clock, Duration::from_secs(10));
        let mut ticker = Ticker::on(every, cancel.clone());
        assert!(manual.drive(ticker.tick()).await);
        assert_eq!(manual.now_ms(), 10_000);
        cancel.cancel();
        assert!(
            !ticker.tick().await,
            "cancelled, even with the clock stopped"
        );
    }
}
