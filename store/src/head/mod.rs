//! The head: the most recent samples, in memory, compressed, indexed by tenant and label.
//!
//! Only the writer thread creates, appends to and garbage-collects series; queries read
//! concurrently through short read locks and per-series mutexes.

pub mod series;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::StorageLimits;
use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;
use taishan_core::{Labels, RejectReason, TenantId};

pub use series::{check_order, AppendCheck, MemSeries, SERIES_OVERHEAD_BYTES};

use crate::index::{Matcher, Postings};
use crate::interned::{
    key_of_labels, key_of_pairs, Interner, LabelPair, SeriesKey, SeriesLabels, Sym,
};

/// Limits applied when a write would create series.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Active series across tenants.
    pub max_series: usize,
    /// Active series of one tenant (0: none).
    pub max_series_per_tenant: usize,
    /// Estimated bytes held by the head.
    pub max_bytes: usize,
}

impl From<&StorageLimits> for HeadLimits {
    fn from(l: &StorageLimits) -> Self {
        Self {
            max_series: l.max_series,
            max_series_per_tenant: l.max_series_per_tenant,
            max_bytes: usize::try_from(l.max_head_memory.bytes()).unwrap_or(usize::MAX),
        }
    }
}

/// The in-memory part of the store.
#[derive(Debug)]
pub struct Head {
    series: RwLock<FxHashMap<u32, Arc<MemSeries>>>,
    /// Series by the fingerprint of tenant and labels.
    by_key: RwLock<FxHashMap<SeriesKey, Arc<MemSeries>>>,
    postings: RwLock<HashMap<TenantId, Postings>>,
    interner: Mutex<Interner>,
    next_id: AtomicU32,
    /// Samples older than this were persisted into blocks and are refused.
    min_valid_t: AtomicI64,
    min_t: AtomicI64,
    max_t: AtomicI64,
    bytes: AtomicUsize,
    limits: HeadLimits,
}

impl Head {
    /// An empty head.
    pub fn new(limits: HeadLimits) -> Self {
        Self {
            series: RwLock::default(),
            by_key: RwLock::default(),
            postings: RwLock::default(),
            interner: Mutex::default(),
            next_id: AtomicU32::new(1),
            min_valid_t: AtomicI64::new(i64::MIN),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            bytes: AtomicUsize::new(0),
            limits,
        }
    }

    /// The series of `tenant` with `labels`, if the head has it.
    pub fn get(&self, tenant: &TenantId, labels: &Labels) -> Option<Arc<MemSeries>> {
        self.get_by_key(key_of_labels(tenant, labels))
    }

    /// The series of each key, under one read lock (a batch holds thousands).
    pub fn get_many(&self, keys: &[SeriesKey]) -> Vec<Option<Arc<MemSeries>>> {
        let map = self.by_key.read();
        keys.iter().map(|k| map.get(k).cloned()).collect()
    }

    /// The series with fingerprint `key`, if the head has it.
    pub fn get_by_key(&self, key: SeriesKey) -> Option<Arc<MemSeries>> {
        self.by_key.read().get(&key).cloned()
    }

    /// Whether `new_total` more series (`new_for_tenant` of them for `tenant`) may be created.
    pub fn admit_new_series(
        &self,
        tenant: &TenantId,
        new_total: usize,
        new_for_tenant: usize,
    ) -> Result<(), RejectReason> {
        let total = self.series.read().len();
        if total + new_total > self.limits.max_series {
            return Err(RejectReason::SeriesLimit);
        }
        if self.limits.max_series_per_tenant > 0 {
            let of_tenant = self
                .postings
                .read()
                .get(tenant)
                .map(|p| p.len() as usize)
                .unwrap_or(0);
            if of_tenant + new_for_tenant > self.limits.max_series_per_tenant {
                return Err(RejectReason::TenantSeriesLimit);
            }
        }
        if self.bytes.load(Ordering::Relaxed) + new_total * SERIES_OVERHEAD_BYTES
            > self.limits.max_bytes
        {
            return Err(RejectReason::MemoryLimit);
        }
        Ok(())
    }

    /// Creates a series; `id` is given when replaying the log, otherwise one is assigned.
    pub fn create(&self, tenant: &TenantId, labels: &Labels, id: Option<u32>) -> Arc<MemSeries> {
        let interned = self.interner.lock().intern_labels(labels);
        self.insert(tenant.clone(), interned, id)
    }

    fn insert(&self, tenant: TenantId, labels: SeriesLabels, id: Option<u32>) -> Arc<MemSeries> {
        let id = match id {
            Some(id) => {
                self.next_id
                    .fetch_max(id.saturating_add(1), Ordering::Relaxed);
                id
            }
            None => self.next_id.fetch_add(1, Ordering::Relaxed),
        };
        let label_bytes: usize = labels.len() * std::mem::size_of::<LabelPair>();
        let series = Arc::new(MemSeries::new(id, tenant.clone(), labels));
        self.postings
            .write()
            .entry(tenant.clone())
            .or_default()
            .add(id, &series.labels);
        self.by_key
            .write()
            .insert(key_of_pairs(&tenant, &series.labels), series.clone());
        self.series.write().insert(id, series.clone());
        self.bytes
            .fetch_add(SERIES_OVERHEAD_BYTES + label_bytes, Ordering::Relaxed);
        series
    }

    /// Appends a sample if it is in order for its series, tracking the head's time range and
    /// memory.
    pub fn try_append(&self, series: &MemSeries, t: i64, v: f64) -> AppendCheck {
        let (check, grown) = series.try_append(t, v);
        if check == AppendCheck::Append {
            if grown > 0 {
                self.bytes.fetch_add(grown, Ordering::Relaxed);
            }
            self.min_t.fetch_min(t, Ordering::Relaxed);
            self.max_t.fetch_max(t, Ordering::Relaxed);
        }
        check
    }

    /// The series of `tenant` selected by `matchers`.
    pub fn select(&self, tenant: &TenantId, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let ids = match self.postings.read().get(tenant) {
            Some(p) => p.select(matchers),
            None => return Vec::new(),
        };
        let series = self.series.read();
        ids.iter()
            .filter_map(|id| series.get(&id).cloned())
            .collect()
    }

    /// Label names of `tenant`'s series selected by `matchers`.
    pub fn label_names(&self, tenant: &TenantId, matchers: &[Matcher]) -> Vec<Sym> {
        let postings = self.postings.read();
        let Some(p) = postings.get(tenant) else {
            return Vec::new();
        };
        p.label_names(&p.select(matchers))
    }

    /// Values of `name` among `tenant`'s series selected by `matchers`.
    pub fn label_values(&self, tenant: &TenantId, name: &str, matchers: &[Matcher]) -> Vec<Sym> {
        let postings = self.postings.read();
        let Some(p) = postings.get(tenant) else {
            return Vec::new();
        };
        let ids: RoaringBitmap = p.select(matchers);
        p.label_values(name, &ids)
    }

    /// Every series, for persisting a block or writing a checkpoint.
    pub fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut v: Vec<_> = self.series.read().values().cloned().collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Refuses samples before `t` from now on (they are about to be persisted).
    pub fn raise_min_valid_time(&self, t: i64) {
        self.min_valid_t.fetch_max(t, Ordering::SeqCst);
    }

    /// Samples before this are refused.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_t.load(Ordering::SeqCst)
    }

    /// Drops chunks before `t` and the series left with nothing; returns how many were dropped.
    pub fn truncate_before(&self, t: i64) -> usize {
        let mut dead = Vec::new();
        let mut freed = 0;
        for s in self.all_series() {
            let (f, empty) = s.truncate_before(t);
            freed += f;
            if empty && s.last().is_none_or(|(lt, _)| lt < t) {
                dead.push(s);
            }
        }
        {
            let mut series = self.series.write();
            let mut by_key = self.by_key.write();
            let mut postings = self.postings.write();
            for s in &dead {
                series.remove(&s.id);
                s.mark_removed();
                by_key.remove(&key_of_pairs(&s.tenant, &s.labels));
                if let Some(p) = postings.get_mut(&s.tenant) {
                    p.remove(s.id, &s.labels);
                    if p.is_empty() {
                        postings.remove(&s.tenant);
                    }
                }
                freed += SERIES_OVERHEAD_BYTES + s.labels.len() * std::mem::size_of::<LabelPair>();
            }
        }
        drop(dead);
        self.interner.lock().sweep();
        self.bytes.fetch_sub(
            freed.min(self.bytes.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        self.min_t.fetch_max(t, Ordering::Relaxed);
        self.series.read().len()
    }

    /// Number of active series.
    pub fn series_count(&self) -> usize {
        self.series.read().len()
    }

    /// Estimated bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Oldest and newest timestamps appended since the last truncation, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let (min, max) = (
            self.min_t.load(Ordering::Relaxed),
            self.max_t.load(Ordering::Relaxed),
        );
        (min <= max).then_some((min, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HeadLimits {
        HeadLimits {
            max_series: 10,
            max_series_per_tenant: 0,
            max_bytes: usize::MAX,
        }
    }

    #[test]
    fn truncation_detaches_series_so_stale_lookups_are_noticed() {
        let head = Head::new(limits());
        let tenant = TenantId::default();
        let labels = Labels::from_pairs([("__name__", "up")]).unwrap();
        let s = head.create(&tenant, &labels, None);
        head.try_append(&s, 10, 1.0);
        let key = key_of_labels(&tenant, &labels);
        let held = head.get_many(&[key]).remove(0).unwrap();
        assert_eq!(head.truncate_before(100), 0);
        assert!(
            held.is_removed(),
            "a writer holding the series must see it was dropped"
        );
        assert!(head.get_by_key(key).is_none());
        assert!(head.select(&tenant, &[]).is_empty());
        // The same labels come back as a fresh series.
        let again = head.create(&tenant, &labels, None);
        assert_ne!(again.id, s.id);
        assert!(!again.is_removed());
    }

    #[test]
    fn tenants_with_equal_labels_are_different_series() {
        let head = Head::new(limits());
        let labels = Labels::from_pairs([("__name__", "up")]).unwrap();
        let a = head.create(&TenantId::new("a").unwrap(), &labels, None);
        assert!(head.get(&TenantId::new("b").unwrap(), &labels).is_none());
        assert_eq!(
            head.get(&TenantId::new("a").unwrap(), &labels)
                .map(|s| s.id),
            Some(a.id)
        );
    }
}
