//! One series in the head: its closed chunks and the chunk being appended to.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use taishan_core::{RejectReason, Sample, TenantId};

use crate::chunk::{Chunk, XorAppender, SAMPLES_PER_CHUNK};
use crate::interned::SeriesLabels;

/// Fixed cost of a series in the head beyond its labels and chunks (maps, postings, locks):
/// used by the memory limit, measured roughly rather than exactly.
pub const SERIES_OVERHEAD_BYTES: usize = 320;

/// A series held in memory.
#[derive(Debug)]
pub struct MemSeries {
    /// Head-local id, also used in the write-ahead log.
    pub id: u32,
    /// Owner.
    pub tenant: TenantId,
    /// Identity.
    pub labels: SeriesLabels,
    state: Mutex<SeriesState>,
    /// Set when truncation dropped the series from the head: a writer holding it must look
    /// the series up again instead of appending to a detached copy.
    removed: AtomicBool,
}

#[derive(Debug, Default)]
struct SeriesState {
    closed: Vec<Chunk>,
    open: XorAppender,
    open_min_t: i64,
    /// The newest accepted sample (timestamp, value bits), kept across truncation so order
    /// is still enforced after the chunks holding it were persisted.
    last: Option<(i64, u64)>,
}

/// What appending a sample would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendCheck {
    /// It is new and in order.
    Append,
    /// Exactly the newest sample again (a retried write): accepted, nothing to store.
    AlreadyStored,
    /// Refused.
    Reject(RejectReason),
}

impl MemSeries {
    /// A series with no samples.
    pub fn new(id: u32, tenant: TenantId, labels: SeriesLabels) -> Self {
        Self {
            id,
            tenant,
            labels,
            state: Mutex::new(SeriesState::default()),
            removed: AtomicBool::new(false),
        }
    }

    /// Marks the series as dropped from the head.
    pub fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// Whether the series was dropped from the head.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// The newest accepted sample.
    pub fn last(&self) -> Option<(i64, u64)> {
        self.state.lock().last
    }

    /// Appends the sample if it is in order; returns what happened and the bytes newly held
    /// by a chunk that closed.
    pub fn try_append(&self, t: i64, v: f64) -> (AppendCheck, usize) {
        let mut s = self.state.lock();
        let check = check_order(s.last, t, v);
        if check != AppendCheck::Append {
            return (check, 0);
        }
        let mut grown = 0;
        if s.open.count() >= SAMPLES_PER_CHUNK {
            let full = std::mem::take(&mut s.open);
            let min_t = s.open_min_t;
            if let Some(chunk) = Chunk::from_appender(min_t, full) {
                grown = chunk.data.len() + std::mem::size_of::<Chunk>();
                s.closed.push(chunk);
            }
        }
        if s.open.count() == 0 {
            s.open_min_t = t;
        }
        s.open.append(t, v);
        s.last = Some((t, v.to_bits()));
        (check, grown)
    }

    /// Appends samples within `[min_t, max_t]` to `out`, in time order.
    pub fn samples_in(&self, min_t: i64, max_t: i64, out: &mut Vec<Sample>) {
        // Decoded under the series' lock: copying the open chunk out to decode it later cost
        // more than the decoding (a rule reading 400 series copied every one), and an append
        // to this one series waits a few microseconds at most. Decoding stops at `max_t`.
        let s = self.state.lock();
        for chunk in s
            .closed
            .iter()
            .filter(|c| c.max_t >= min_t && c.min_t <= max_t)
        {
            push_decoded(crate::chunk::decode_in_range(
                chunk.encoding,
                &chunk.data,
                chunk.count,
                min_t,
                max_t,
                out,
            ));
        }
        if s.open.count() > 0 && s.open.last_timestamp() >= min_t && s.open_min_t <= max_t {
            push_decoded(crate::chunk::decode_in_range(
                crate::chunk::ChunkEncoding::Xor,
                s.open.bytes(),
                s.open.count(),
                min_t,
                max_t,
                out,
            ));
        }
    }

    /// Closed chunks overlapping `[min_t, max_t]` and a closed copy of the open chunk, for
    /// persisting into a block.
    pub fn chunks_in(&self, min_t: i64, max_t: i64) -> Vec<Chunk> {
        let s = self.state.lock();
        let mut out: Vec<Chunk> = s
            .closed
            .iter()
            .filter(|c| c.max_t >= min_t && c.min_t <= max_t)
            .cloned()
            .collect();
        if s.open.count() > 0 && s.open.last_timestamp() >= min_t && s.open_min_t <= max_t {
            if let Some(c) = Chunk::from_appender(s.open_min_t, s.open.clone()) {
                out.push(c);
            }
        }
        out
    }

    /// Drops chunks entirely before `t`; returns bytes freed and whether the series now
    /// holds nothing at or after `t`.
    pub fn truncate_before(&self, t: i64) -> (usize, bool) {
        let mut s = self.state.lock();
        let mut freed = 0;
        s.closed.retain(|c| {
            let keep = c.max_t >= t;
            if !keep {
                freed += c.data.len() + std::mem::size_of::<Chunk>();
            }
            keep
        });
        if s.open.count() > 0 && s.open.last_timestamp() < t {
            freed += s.open.heap_bytes();
            s.open = XorAppender::default();
        }
        let empty = s.closed.is_empty() && s.open.count() == 0;
        (freed, empty)
    }
}

/// The ordering rule: strictly increasing timestamps, with an exact repeat of the newest
/// sample accepted as a no-op so that retried writes succeed.
pub fn check_order(last: Option<(i64, u64)>, t: i64, v: f64) -> AppendCheck {
    match last {
        None => AppendCheck::Append,
        Some((lt, _)) if t > lt => AppendCheck::Append,
        Some((lt, lv)) if t == lt && v.to_bits() == lv => AppendCheck::AlreadyStored,
        Some((lt, _)) if t == lt => AppendCheck::Reject(RejectReason::DuplicateTimestamp),
        Some(_) => AppendCheck::Reject(RejectReason::OutOfOrder),
    }
}

fn push_decoded(decoded: Result<(), crate::chunk::DecodeError>) {
    // Head chunks are written by this process; a decode failure is a bug, but a query
    // must not take the process down with it.
    if let Err(e) = decoded {
        tracing::error!(error = %e, "undecodable head chunk skipped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn series() -> MemSeries {
        MemSeries::new(1, TenantId::default(), Arc::from(Vec::new()))
    }

    #[test]
    fn order_is_enforced_and_exact_repeats_are_accepted() {
        let s = series();
        assert_eq!(s.try_append(10, 1.0).0, AppendCheck::Append);
        assert_eq!(s.try_append(10, 1.0).0, AppendCheck::AlreadyStored);
        assert_eq!(
            s.try_append(10, 2.0).0,
            AppendCheck::Reject(RejectReason::DuplicateTimestamp)
        );
        assert_eq!(
            s.try_append(9, 1.0).0,
            AppendCheck::Reject(RejectReason::OutOfOrder)
        );
        let mut out = Vec::new();
        s.samples_in(0, 100, &mut out);
        assert_eq!(out, vec![Sample::new(10, 1.0)]);
    }

    #[test]
    fn chunks_close_and_read_back_across_truncation() {
        let s = series();
        for i in 0..500 {
            s.try_append(i * 10, i as f64);
        }
        let mut out = Vec::new();
        s.samples_in(0, i64::MAX, &mut out);
        assert_eq!(out.len(), 500);
        assert_eq!(out[499], Sample::new(4990, 499.0));
        let mut window = Vec::new();
        s.samples_in(1000, 1500, &mut window);
        assert_eq!(window.len(), 51);
        let (freed, empty) = s.truncate_before(2400);
        assert!(freed > 0 && !empty);
        let mut rest = Vec::new();
        s.samples_in(0, i64::MAX, &mut rest);
        assert!(rest.iter().all(|x| x.timestamp_ms >= 2400 - 1200));
        assert_eq!(rest.last().map(|x| x.timestamp_ms), Some(4990));
        // The newest sample still guards order after truncation.
        let (_, empty) = s.truncate_before(10_000);
        assert!(empty);
        assert_eq!(
            s.try_append(4000, 1.0).0,
            AppendCheck::Reject(RejectReason::OutOfOrder)
        );
    }
}
