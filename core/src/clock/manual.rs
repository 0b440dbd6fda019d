//! The clock tests move by hand, with the sleepers it wakes when moved.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::{millis, Clock};

/// A clock that only moves when a test moves it. Waits on it
/// ([`Clock::sleep_until`]) resolve when it is moved to or past their deadline.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
    /// Waits in progress: who to wake, and when they are due.
    sleepers: Mutex<Vec<Sleeper>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Sleeper {
    id: u64,
    deadline_ms: i64,
    waker: std::task::Waker,
}

impl ManualClock {
    /// A clock stopped at `now_ms` milliseconds since the epoch.
    pub fn at(now_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(now_ms),
            ..Self::default()
        }
    }

    /// Moves the clock forward, waking the waits that fall due.
    pub fn advance(&self, by: Duration) {
        self.now_ms.fetch_add(millis(by), Ordering::SeqCst);
        self.wake_due();
    }

    /// Sets the clock to an absolute time, waking the waits that fall due.
    pub fn set_ms(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
        self.wake_due();
    }

    /// Every deadline waited for on this clock, earliest first: what a test checks to see
    /// that a loop is parked until the time it should next act.
    pub fn wake_times(&self) -> Vec<i64> {
        let mut at: Vec<i64> = self.sleepers.lock().iter().map(|s| s.deadline_ms).collect();
        at.sort_unstable();
        at
    }

    /// The earliest of [`ManualClock::wake_times`]: where a test moves the clock to let the
    /// next timed thing happen.
    pub fn next_wake_ms(&self) -> Option<i64> {
        self.wake_times().first().copied()
    }

    fn wake_due(&self) {
        let now = self.now_ms();
        let mut due = Vec::new();
        self.sleepers.lock().retain(|s| {
            let waiting = s.deadline_ms > now;
            if !waiting {
                due.push(s.waker.clone());
            }
            waiting
        });
        // Woken outside the lock: a woken task may poll (and lock) at once.
        due.into_iter().for_each(std::task::Waker::wake);
    }

    /// Runs `work` to the end, moving the clock to the next deadline whenever `work` (or a
    /// task it waits on) has nothing to do but wait for the clock: tokio's paused time, for
    /// the injected clock. For work whose only waits are on this clock.
    #[cfg(feature = "runtime")]
    pub async fn drive<F: std::future::Future>(&self, work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        loop {
            if let std::task::Poll::Ready(out) = futures_poll(work.as_mut()).await {
                return out;
            }
            // Let woken tasks run before deciding the work is only waiting on the clock.
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
            if let std::task::Poll::Ready(out) = futures_poll(work.as_mut()).await {
                return out;
            }
            match self.next_wake_ms() {
                Some(at) => self.set_ms(at.max(self.now_ms())),
                None => tokio::task::yield_now().await,
            }
        }
    }
}

/// Polls `f` once.
#[cfg(feature = "runtime")]
async fn futures_poll<F: std::future::Future>(
    mut f: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(f.as_mut().poll(cx))).await
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    #[cfg(feature = "runtime")]
    fn sleep_until(&self, deadline_ms: i64) -> super::Sleep<'_> {
        Box::pin(ManualSleep {
            clock: self,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            deadline_ms,
        })
    }
}

/// One wait on a [`ManualClock`]; forgets itself when dropped.
struct ManualSleep<'a> {
    clock: &'a ManualClock,
    id: u64,
    deadline_ms: i64,
}

impl std::future::Future for ManualSleep<'_> {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        // The time is read under the lock the clock's mover takes after moving it, so a
        // move is either seen here or wakes the waker left here.
        let mut sleepers = self.clock.sleepers.lock();
        if self.clock.now_ms() >= self.deadline_ms {
            sleepers.retain(|s| s.id != self.id);
            return std::task::Poll::Ready(());
        }
        match sleepers.iter_mut().find(|s| s.id == self.id) {
            Some(s) => s.waker.clone_from(cx.waker()),
            None => sleepers.push(Sleeper {
                id: self.id,
                deadline_ms: self.deadline_ms,
                waker: cx.waker().clone(),
            }),
        }
        std::task::Poll::Pending
    }
}

impl Drop for ManualSleep<'_> {
    fn drop(&mut self) {
        self.clock.sleepers.lock().retain(|s| s.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now_ms(), 3_000);
        clock.set_ms(10);
        assert_eq!(clock.now_ms(), 10);
    }

    #[cfg(feature = "runtime")]
    #[tokio::test]
    async fn a_wait_ends_when_the_clock_is_moved_past_it_and_not_before() {
        use std::sync::Arc;
        let clock = Arc::new(ManualClock::at(1_000));
        let waiting = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(5_000).await })
        };
        while clock.next_wake_ms().is_none() {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            clock.next_wake_ms(),
            Some(5_000),
            "parked until its deadline"
        );
        assert_eq!(clock.wake_times(), [5_000]);
        clock.advance(Duration::from_millis(3_999));
        assert_eq!(clock.next_wake_ms(), Some(5_000), "a millisecond short");
        assert!(!waiting.is_finished());
        clock.advance(Duration::from_millis(1));
        waiting.await.unwrap();
        assert_eq!(clock.next_wake_ms(), None, "nobody waits any more");
        // A deadline already passed is no wait; a dropped wait is forgotten.
        clock.sleep_until(0).await;
        drop(clock.sleep(Duration::from_secs(1)));
        assert_eq!(clock.next_wake_ms(), None);
    }

    #[cfg(feature = "runtime")]
    #[tokio::test]
    async fn drive_moves_the_clock_to_each_deadline_in_turn() {
        let clock = ManualClock::at(0);
        let seen = clock
            .drive(async {
                let mut seen = Vec::new();
                for step in [30_000, 5_000, 60_000] {
                    clock.sleep(Duration::from_millis(step)).await;
                    seen.push(clock.now_ms());
                }
                seen
            })
            .await;
        assert_eq!(seen, [30_000, 35_000, 95_000]);
    }
}
