//! The breaker's memory of recent calls: a ring of time buckets of atomic counters.
//!
//! Recording is a few relaxed atomic adds. A bucket is recycled by whoever first sees it
//! belong to an old period; a call recorded by another thread in the same instant may be
//! lost then, which a ratio over hundreds of calls does not notice and a lock on every call
//! would. Threads write to their own stripe of buckets (as a striped counter does) so that
//! callers on different cores do not fight over one cache line; reading sums the stripes.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

/// Calls seen in the window.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WindowTotals {
    /// Calls completed.
    pub calls: u32,
    /// Of which failed.
    pub failures: u32,
    /// Of which slower than the slow-call threshold.
    pub slow: u32,
}

#[derive(Debug)]
struct Bucket {
    period: AtomicI64,
    calls: AtomicU32,
    failures: AtomicU32,
    slow: AtomicU32,
}

/// One thread group's buckets, on cache lines of their own.
#[derive(Debug)]
#[repr(align(128))]
struct Stripe {
    buckets: Box<[Bucket]>,
}

/// A sliding window of `buckets` periods of `bucket_ms` each.
#[derive(Debug)]
pub struct SlidingWindow {
    stripes: Box<[Stripe]>,
    buckets: usize,
    bucket_ms: i64,
}

/// Stripes per window: enough for the cores of a typical service host.
const STRIPES: usize = 8;

thread_local! {
    /// This thread's stripe, handed out round-robin as threads first record.
    static STRIPE: usize = {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
    };
}

const UNUSED: i64 = i64::MIN;

impl SlidingWindow {
    /// A window covering `buckets × bucket_ms` milliseconds.
    pub fn new(buckets: usize, bucket_ms: i64) -> Self {
        let buckets = buckets.max(1);
        let stripes = (0..STRIPES)
            .map(|_| Stripe {
                buckets: (0..buckets)
                    .map(|_| Bucket {
                        period: AtomicI64::new(UNUSED),
                        calls: AtomicU32::new(0),
                        failures: AtomicU32::new(0),
                        slow: AtomicU32::new(0),
                    })
                    .collect(),
            })
            .collect();
        Self {
            stripes,
            buckets,
            bucket_ms: bucket_ms.max(1),
        }
    }

    fn period(&self, now_ms: i64) -> i64 {
        now_ms.div_euclid(self.bucket_ms)
    }

    /// Counts one completed call.
    pub fn record(&self, now_ms: i64, failed: bool, slow: bool) {
        let period = self.period(now_ms);
        let stripe = &self.stripes[STRIPE.with(|s| *s)];
        let bucket = &stripe.buckets[period.rem_euclid(self.buckets as i64) as usize];
        let seen = bucket.period.load(Ordering::Acquire);
        if seen != period
            && bucket
                .period
                .compare_exchange(seen, period, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.calls.store(0, Ordering::Relaxed);
            bucket.failures.store(0, Ordering::Relaxed);
            bucket.slow.store(0, Ordering::Relaxed);
        }
        bucket.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            bucket.failures.fetch_add(1, Ordering::Relaxed);
        }
        if slow {
            bucket.slow.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The calls of the buckets still inside the window at `now_ms`.
    pub fn totals(&self, now_ms: i64) -> WindowTotals {
        let newest = self.period(now_ms);
        let oldest = newest - self.buckets as i64 + 1;
        let mut totals = WindowTotals::default();
        for bucket in self.stripes.iter().flat_map(|s| s.buckets.iter()) {
            let period = bucket.period.load(Ordering::Acquire);
            if period >= oldest && period <= newest {
                totals.calls += bucket.calls.load(Ordering::Relaxed);
                totals.failures += bucket.failures.load(Ordering::Relaxed);
                totals.slow += bucket.slow.load(Ordering::Relaxed);
            }
        }
        totals
    }

    /// Forgets every call (after the breaker closes again).
    pub fn clear(&self) {
        for bucket in self.stripes.iter().flat_map(|s| s.buckets.iter()) {
            bucket.period.store(UNUSED, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_buckets_leave_the_window() {
        let w = SlidingWindow::new(10, 1_000);
        w.record(0, true, false);
        w.record(500, false, true);
        w.record(9_999, false, false);
        assert_eq!(
            w.totals(9_999),
            WindowTotals {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        // At 10s the first second is out of the window.
        assert_eq!(w.totals(10_000).calls, 1);
        // A new call in the recycled bucket starts it from zero.
        w.record(10_100, false, false);
        assert_eq!(
            w.totals(10_100),
            WindowTotals {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
        w.clear();
        assert_eq!(w.totals(10_100).calls, 0);
    }
}
