//! Ticks at a period on the injected clock.

use std::sync::Arc;
use std::time::Duration;

use super::{millis, Clock};

/// Ticks every period on a [`Clock`]. A late tick is delayed, not bunched: after a tick
/// that came more than a period late, the next is a whole period later.
#[derive(Debug)]
pub struct Interval {
    clock: Arc<dyn Clock>,
    next_ms: i64,
    period_ms: i64,
}

impl Interval {
    /// Ticks at once, then every `period` (at least a millisecond).
    pub fn new(clock: Arc<dyn Clock>, period: Duration) -> Self {
        let next_ms = clock.now_ms();
        Self::starting_at(clock, next_ms, period)
    }

    /// Ticks first one `period` from now.
    pub fn after_first_period(clock: Arc<dyn Clock>, period: Duration) -> Self {
        let next_ms = clock.now_ms().saturating_add(millis(period));
        Self::starting_at(clock, next_ms, period)
    }

    fn starting_at(clock: Arc<dyn Clock>, next_ms: i64, period: Duration) -> Self {
        Interval {
            clock,
            next_ms,
            period_ms: millis(period).max(1),
        }
    }

    /// Waits for the next tick; returns the clock's time at it.
    pub async fn tick(&mut self) -> i64 {
        self.clock.sleep_until(self.next_ms).await;
        let now = self.clock.now_ms();
        self.next_ms = if now > self.next_ms.saturating_add(self.period_ms) {
            now.saturating_add(self.period_ms)
        } else {
            self.next_ms.saturating_add(self.period_ms)
        };
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[tokio::test]
    async fn ticks_on_the_period_and_delays_rather_than_bunches() {
        let manual = Arc::new(ManualClock::at(0));
        let clock: Arc<dyn Clock> = manual.clone();
        let mut every = Interval::new(clock.clone(), Duration::from_secs(10));
        assert_eq!(every.tick().await, 0, "at once");
        let ticks = manual
            .drive(async {
                let mut at = Vec::new();
                for _ in 0..2 {
                    at.push(every.tick().await);
                }
                at
            })
            .await;
        assert_eq!(ticks, [10_000, 20_000]);
        // Thirty-five seconds late: one tick now, the next a whole period on.
        manual.advance(Duration::from_secs(45));
        assert_eq!(every.tick().await, 65_000);
        assert_eq!(manual.drive(every.tick()).await, 75_000);
        let mut later = Interval::after_first_period(clock, Duration::from_secs(5));
        assert_eq!(manual.drive(later.tick()).await, 80_000);
    }
}
