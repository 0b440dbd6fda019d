//! Running totals for OTLP delta temporality: Prometheus series are cumulative, so every
//! delta point is added to its series' total and the total is written.
//!
//! The table is bounded twice: a series not heard from for [`DELTA_SERIES_TTL`] is forgotten
//! (its next point starts a new total, which PromQL's `rate` reads as a counter reset), and
//! while the table holds [`MAX_DELTA_SERIES`] series a new one is refused rather than grow
//! memory. Idle series are swept every tenth of the TTL, and at once (at most once a second)
//! when the table is full, so a full table frees itself as soon as series go idle.

use std::collections::HashMap;

use parking_lot::Mutex;
use taishan_core::{Labels, TenantId};

/// Most series whose delta points are being summed; new delta series beyond it are refused
/// (counted as rejected points) until idle ones are forgotten.
pub const MAX_DELTA_SERIES: usize = 1_000_000;

/// How long a delta series keeps its running total without a new point: 10 minutes, ten
/// times the SDKs' default export interval of 60 s.
pub const DELTA_SERIES_TTL_MS: i64 = 10 * 60 * 1000;

/// [`DELTA_SERIES_TTL_MS`] as a duration, for documentation and logs.
pub const DELTA_SERIES_TTL: std::time::Duration =
    std::time::Duration::from_millis(DELTA_SERIES_TTL_MS as u64);

/// Least time between two sweeps forced by a full table.
const FULL_SWEEP_EVERY_MS: i64 = 1_000;

#[derive(Debug)]
struct Total {
    value: f64,
    last_seen_ms: i64,
}

#[derive(Debug, Default)]
struct Table {
    totals: HashMap<(TenantId, Labels), Total>,
    next_sweep_ms: i64,
    last_sweep_ms: i64,
    evicted: u64,
}

impl Table {
    fn sweep(&mut self, now_ms: i64, ttl_ms: i64) {
        let before = self.totals.len();
        let oldest = now_ms.saturating_sub(ttl_ms);
        self.totals.retain(|_, t| t.last_seen_ms > oldest);
        let evicted = before - self.totals.len();
        self.evicted += evicted as u64;
        self.last_sweep_ms = now_ms;
        self.next_sweep_ms = now_ms.saturating_add((ttl_ms / 10).max(1));
        if evicted > 0 {
            tracing::debug!(
                evicted,
                kept = self.totals.len(),
                "idle OTLP delta series forgotten"
            );
        }
    }
}

/// The running totals of every delta series, per tenant.
#[derive(Debug)]
pub struct DeltaTotals {
    table: Mutex<Table>,
    ttl_ms: i64,
    max_series: usize,
}

impl Default for DeltaTotals {
    fn default() -> Self {
        Self::new(DELTA_SERIES_TTL_MS, MAX_DELTA_SERIES)
    }
}

impl DeltaTotals {
    /// A table forgetting series idle for `ttl_ms` and holding at most `max_series`.
    pub fn new(ttl_ms: i64, max_series: usize) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            ttl_ms: ttl_ms.max(1),
            max_series,
        }
    }

    /// Adds `delta` to the series' total at wall time `now_ms`; the new total, or `None`
    /// when the series is new and the table is full.
    pub fn add(&self, tenant: &TenantId, labels: &Labels, delta: f64, now_ms: i64) -> Option<f64> {
        let mut table = self.table.lock();
        if now_ms >= table.next_sweep_ms {
            table.sweep(now_ms, self.ttl_ms);
        }
        // The key is built only for a series seen for the first time.
        let key = (tenant.clone(), labels.clone());
        if let Some(t) = table.totals.get_mut(&key) {
            t.value += delta;
            t.last_seen_ms = now_ms;
            return Some(t.value);
        }
        if table.totals.len() >= self.max_series {
            if now_ms - table.last_sweep_ms < FULL_SWEEP_EVERY_MS {
                return None;
            }
            table.sweep(now_ms, self.ttl_ms);
            if table.totals.len() >= self.max_series {
                return None;
            }
        }
        table.totals.insert(
            key,
            Total {
                value: delta,
                last_seen_ms: now_ms,
            },
        );
        Some(delta)
    }

    /// Series whose totals are kept now, and series forgotten for being idle so far.
    pub fn counts(&self) -> (usize, u64) {
        let table = self.table.lock();
        (table.totals.len(), table.evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::{Clock, ManualClock};

    fn series(name: &str) -> Labels {
        let mut pairs = vec![("__name__", name)];
        Labels::from_strs(&mut pairs).unwrap()
    }

    #[test]
    fn idle_series_are_forgotten_after_the_ttl() {
        let clock = ManualClock::at(1_000_000);
        let deltas = DeltaTotals::new(60_000, 10);
        let t = TenantId::default();
        assert_eq!(deltas.add(&t, &series("a"), 2.0, clock.now_ms()), Some(2.0));
        clock.advance(std::time::Duration::from_secs(30));
        assert_eq!(deltas.add(&t, &series("a"), 3.0, clock.now_ms()), Some(5.0));
        assert_eq!(deltas.add(&t, &series("b"), 1.0, clock.now_ms()), Some(1.0));
        // `a` was last seen 30 s in; 61 s later it is past the TTL, `b` too.
        clock.advance(std::time::Duration::from_secs(61));
        assert_eq!(deltas.add(&t, &series("c"), 1.0, clock.now_ms()), Some(1.0));
        assert_eq!(deltas.counts(), (1, 2));
        // A forgotten series starts a new total.
        assert_eq!(deltas.add(&t, &series("a"), 4.0, clock.now_ms()), Some(4.0));
    }

    #[test]
    fn a_full_table_refuses_new_series_until_idle_ones_go() {
        let clock = ManualClock::at(0);
        let deltas = DeltaTotals::new(60_000, 2);
        let t = TenantId::default();
        deltas.add(&t, &series("a"), 1.0, clock.now_ms());
        clock.advance(std::time::Duration::from_secs(40));
        deltas.add(&t, &series("b"), 1.0, clock.now_ms());
        assert_eq!(deltas.add(&t, &series("c"), 1.0, clock.now_ms()), None);
        // Known series still add up while the table is full.
        assert_eq!(deltas.add(&t, &series("b"), 1.0, clock.now_ms()), Some(2.0));
        // Once `a` has been idle for the TTL, the next new series takes its place.
        clock.advance(std::time::Duration::from_secs(25));
        assert_eq!(deltas.add(&t, &series("c"), 7.0, clock.now_ms()), Some(7.0));
        assert_eq!(deltas.counts(), (2, 1));
        // Tenants keep their own totals.
        let other = TenantId::new("bank-b").unwrap();
        assert_eq!(deltas.add(&other, &series("b"), 1.0, clock.now_ms()), None);
    }
}
