//! The in-memory index of the trace store: per trace, where its spans are on disk and a
//! compact summary of each span, enough to search without reading spans back.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use smallvec::SmallVec;
use taishan_core::TenantId;

use crate::interned::{Interner, Sym};
use crate::seglog::Position;

/// A trace id (16 bytes).
pub type TraceId = [u8; 16];

/// What the index keeps of a span.
#[derive(Debug, Clone)]
pub struct SpanSummary {
    /// The span id.
    pub span_id: [u8; 8],
    /// The parent's id, none for a root span.
    pub parent: Option<[u8; 8]>,
    /// `service.name` of its resource.
    pub service: Sym,
    /// Operation (span name).
    pub name: Sym,
    /// OTLP span kind.
    pub kind: i32,
    /// Status is error.
    pub error: bool,
    /// Start, ns since the epoch.
    pub start_ns: u64,
    /// End, ns since the epoch.
    pub end_ns: u64,
}

/// One trace in the index.
#[derive(Debug, Clone, Default)]
pub struct TraceEntry {
    /// Records holding its spans.
    pub positions: SmallVec<[Position; 2]>,
    /// Its spans, first arrival of each id only.
    pub spans: Vec<SpanSummary>,
}

impl TraceEntry {
    /// Earliest span start (ns).
    pub fn start_ns(&self) -> u64 {
        self.spans.iter().map(|s| s.start_ns).min().unwrap_or(0)
    }

    /// Latest span end (ns).
    pub fn end_ns(&self) -> u64 {
        self.spans.iter().map(|s| s.end_ns).max().unwrap_or(0)
    }

    /// The root span, or the earliest one while the root has not arrived.
    pub fn root(&self) -> Option<&SpanSummary> {
        self.spans
            .iter()
            .find(|s| s.parent.is_none())
            .or_else(|| self.spans.iter().min_by_key(|s| s.start_ns))
    }
}

/// The index of every tenant's traces.
#[derive(Debug, Default)]
pub struct TraceIndex {
    traces: HashMap<(TenantId, TraceId), TraceEntry>,
    /// Traces by start time (ms), for newest-first search.
    by_start: BTreeSet<(i64, TenantId, TraceId)>,
    /// Operations per service, per tenant.
    operations: HashMap<TenantId, BTreeMap<Sym, BTreeSet<Sym>>>,
    strings: Interner,
}

fn ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

impl TraceIndex {
    /// Interns a string (service and operation names repeat endlessly).
    pub fn intern(&mut self, s: &str) -> Sym {
        self.strings.intern(s)
    }

    /// Adds the spans of one record at `pos`; a span id already known in its trace is a
    /// duplicate delivery and not indexed again.
    pub fn add(
        &mut self,
        tenant: &TenantId,
        trace: TraceId,
        pos: Position,
        spans: Vec<SpanSummary>,
    ) {
        let key = (tenant.clone(), trace);
        let entry = self.traces.entry(key.clone()).or_default();
        let old_start = (!entry.spans.is_empty()).then(|| ms(entry.start_ns()));
        if !entry.positions.contains(&pos) {
            entry.positions.push(pos);
        }
        let ops = self.operations.entry(tenant.clone()).or_default();
        for s in spans {
            if entry.spans.iter().any(|x| x.span_id == s.span_id) {
                continue;
            }
            ops.entry(s.service.clone())
                .or_default()
                .insert(s.name.clone());
            entry.spans.push(s);
        }
        let new_start = ms(entry.start_ns());
        if old_start != Some(new_start) {
            if let Some(old) = old_start {
                self.by_start.remove(&(old, key.0.clone(), key.1));
            }
            self.by_start.insert((new_start, key.0, key.1));
        }
    }

    /// The trace `id` of `tenant`.
    pub fn get(&self, tenant: &TenantId, id: &TraceId) -> Option<&TraceEntry> {
        self.traces.get(&(tenant.clone(), *id))
    }

    /// `tenant`'s traces starting in `[start_ms, end_ms]`, newest first.
    pub fn newest_first<'a>(
        &'a self,
        tenant: &'a TenantId,
        start_ms: i64,
        end_ms: i64,
    ) -> impl Iterator<Item = (&'a TraceId, &'a TraceEntry)> + 'a {
        self.by_start
            .range(
                (start_ms, TenantId::default(), [0u8; 16])..=(end_ms, tenant.clone(), [0xff; 16]),
            )
            .rev()
            .filter(move |(_, t, _)| t == tenant)
            .filter_map(move |(_, t, id)| self.traces.get(&(t.clone(), *id)).map(|e| (id, e)))
    }

    /// Services and their operations of `tenant`.
    pub fn operations(&self, tenant: &TenantId) -> Option<&BTreeMap<Sym, BTreeSet<Sym>>> {
        self.operations.get(tenant)
    }

    /// Forgets records in the `gone` segments; traces left with none are dropped.
    pub fn forget_segments(&mut self, gone: &[u64]) {
        if gone.is_empty() {
            return;
        }
        let mut dropped = Vec::new();
        for (key, entry) in self.traces.iter_mut() {
            entry.positions.retain(|p| !gone.contains(&p.segment));
            if entry.positions.is_empty() {
                dropped.push((ms(entry.start_ns()), key.clone()));
            }
        }
        for (start, key) in dropped {
            self.traces.remove(&key);
            self.by_start.remove(&(start, key.0, key.1));
        }
        self.strings.sweep();
    }

    /// How many traces are indexed.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }
}
