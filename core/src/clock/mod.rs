//! Injected wall-clock time, and a timer on it, so retention, scrapes, rule loops, the
//! alerter's dispatch and drills are testable by moving a [`ManualClock`] instead of sleeping.
//!
//! Loops whose timing is part of what they compute (when a group is evaluated, when a
//! notification is due, how long a drill waits) sleep on the injected clock with
//! [`Clock::sleep_until`] or an [`Interval`]; under a manual clock they wake when a test moves
//! it, never on real time. Housekeeping that only needs to happen now and then keeps the
//! real-time [`crate::Ticker`].

#[cfg(feature = "runtime")]
mod interval;
mod manual;

use std::fmt::Debug;
#[cfg(feature = "runtime")]
use std::future::Future;
#[cfg(feature = "runtime")]
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(feature = "runtime")]
pub use interval::Interval;
pub use manual::ManualClock;

/// A wait on a [`Clock`]: resolves once the clock reads its deadline.
#[cfg(feature = "runtime")]
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of the current time, and of waits on it.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Milliseconds since the Unix epoch, the unit of every sample timestamp.
    fn now_ms(&self) -> i64;

    /// Resolves once the clock reads `deadline_ms` or later (at once if it already does).
    /// The system clock sleeps in real time; a manual clock wakes its sleepers when a test
    /// moves it.
    #[cfg(feature = "runtime")]
    fn sleep_until(&self, deadline_ms: i64) -> Sleep<'_>;

    /// Resolves once `d` has passed on this clock.
    #[cfg(feature = "runtime")]
    fn sleep(&self, d: Duration) -> Sleep<'_> {
        self.sleep_until(self.now_ms().saturating_add(millis(d)))
    }
}

/// `d` in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    /// Sleeps in steps of a second at most, reading the wall clock after each: tokio's
    /// timers run on the monotonic clock, which a suspended machine or a stepped wall clock
    /// leaves behind.
    #[cfg(feature = "runtime")]
    fn sleep_until(&self, deadline_ms: i64) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let left = deadline_ms.saturating_sub(self.now_ms());
                let Ok(left @ 1..) = u64::try_from(left) else {
                    return;
                };
                tokio::time::sleep(Duration::from_millis(left.min(1_000))).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }

    #[cfg(feature = "runtime")]
    #[tokio::test]
    async fn the_system_clock_sleeps_until_the_wall_clock_reads_the_deadline() {
        let deadline = SystemClock.now_ms() + 50;
        SystemClock.sleep_until(deadline).await;
        assert!(SystemClock.now_ms() >= deadline);
        let start = std::time::Instant::now();
        SystemClock.sleep_until(0).await;
        assert!(
            start.elapsed() < Duration::from_millis(50),
            "a passed deadline is no wait"
        );
    }
}
