//! The trace store: spans kept as OTLP, one record per trace and export in a segmented log
//! (durable before the export is acknowledged), an in-memory index for lookup by trace id and
//! search, and retention by age and size.
//!
//! Spans of one trace may arrive in any order, late, or twice: a trace is whatever records
//! mention its id, assembled at read time, each span id kept once.

pub mod index;
mod record;
pub mod signals;
mod sink;

pub use sink::TraceSink;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans};
use parking_lot::{Mutex, RwLock};
use taishan_core::{ResourceSpansView, ScopeSpansView, SpanBatch, SpanView, TenantId, WireError};

use crate::error::StoreError;
use crate::seglog::{Position, SegmentLog};
use index::{SpanSummary, TraceEntry, TraceId, TraceIndex};

/// How to open a trace store.
#[derive(Debug, Clone)]
pub struct TraceStoreOptions {
    /// Directory of its segments.
    pub dir: PathBuf,
    /// How long spans are kept.
    pub retention: Duration,
    /// Largest total size on disk (0: no limit).
    pub retention_bytes: u64,
    /// Size at which a new segment starts.
    pub segment_bytes: u64,
}

/// What an append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanAppendReport {
    /// Spans stored.
    pub accepted: usize,
    /// Spans refused (bad ids), with the first reasons.
    pub rejected: usize,
    /// Why.
    pub errors: Vec<String>,
}

/// A trace search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceQuery {
    /// A span of this service.
    pub service: Option<String>,
    /// A span with this name.
    pub operation: Option<String>,
    /// Only traces with (`Some(true)`) or without an error span.
    pub error: Option<bool>,
    /// A matching span lasting at least this long (ns).
    pub min_duration_ns: Option<u64>,
    /// A matching span lasting at most this long (ns).
    pub max_duration_ns: Option<u64>,
    /// Span or resource attributes that must be equal on a matching span.
    pub attributes: Vec<(String, String)>,
    /// Traces starting at or after (ms).
    pub start_ms: i64,
    /// Traces starting at or before (ms).
    pub end_ms: i64,
    /// Most traces returned.
    pub limit: usize,
}

/// A trace found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    /// Hex trace id.
    pub trace_id: String,
    /// Service of the root span.
    pub root_service: String,
    /// Name of the root span.
    pub root_name: String,
    /// Start (ms).
    pub start_ms: i64,
    /// Duration (ms, fractional).
    pub duration_ms: f64,
    /// Spans.
    pub span_count: usize,
    /// Spans with error status.
    pub error_count: usize,
    /// Services taking part, sorted.
    pub services: Vec<String>,
}

/// The store.
#[derive(Debug)]
pub struct TraceStore {
    log: Mutex<SegmentLog>,
    index: RwLock<TraceIndex>,
    options: TraceStoreOptions,
}

/// The service of spans whose resource names none, as the SDKs default.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// `service.name` of a resource ("unknown_service" as the SDKs default).
pub fn service_name(resource: Option<&Resource>) -> String {
    resource
        .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
        .and_then(|a| a.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| UNKNOWN_SERVICE.to_string())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hex trace id (32 digits).
pub fn parse_trace_id(s: &str) -> Option<TraceId> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

impl TraceStore {
    /// Opens the store, rebuilding the index from the segments.
    pub fn open(options: TraceStoreOptions) -> Result<Self, StoreError> {
        let mut index = TraceIndex::default();
        let (log, report) =
            SegmentLog::open(&options.dir, options.segment_bytes, |pos, _, payload| {
                let tenant = record::tenant(payload).ok().map(TenantId::new);
                if let Some(Ok(tenant)) = tenant {
                    if let Ok((mut spans, _)) = summaries(payload, record::SPANS_FIELD) {
                        for group in by_trace(&mut spans) {
                            index_trace(&mut index, &tenant, pos, group);
                        }
                    }
                }
            })
            .map_err(|e| StoreError::io(&options.dir, e))?;
        tracing::info!(dir = %options.dir.display(), records = report.records, traces = index.len(), "trace store opened");
        Ok(Self {
            log: Mutex::new(log),
            index: RwLock::new(index),
            options,
        })
    }

    /// Stores the spans of `batch`, one record per trace; durable when this returns. Spans
    /// with malformed ids are refused and reported.
    pub fn append(&self, batch: &SpanBatch) -> Result<SpanAppendReport, StoreError> {
        let dir = &self.options.dir;
        let (mut spans, report) = summaries(batch.request(), EXPORT_SPANS_FIELD)
            .map_err(|e| StoreError::corrupt(dir, e))?;
        if spans.is_empty() {
            return Ok(report);
        }
        let traces = by_trace(&mut spans);
        let tenant = batch.tenant.as_str();
        let records: Vec<(i64, Vec<u8>)> = traces
            .iter()
            .map(|group| {
                let newest = group
                    .iter()
                    .map(|s| s.summary.end_ns.max(s.summary.start_ns))
                    .max()
                    .unwrap_or(0);
                let refs: Vec<record::SpanRef<'_>> = group.iter().map(|s| s.at).collect();
                let t = i64::try_from(newest / 1_000_000).unwrap_or(i64::MAX);
                (t, record::encode_trace(tenant, &refs))
            })
            .collect();
        let positions = {
            let mut log = self.log.lock();
            let frames: Vec<(i64, &[u8])> =
                records.iter().map(|(t, p)| (*t, p.as_slice())).collect();
            let positions = log.append(&frames).map_err(|e| StoreError::io(dir, e))?;
            log.sync().map_err(|e| StoreError::io(dir, e))?;
            positions
        };
        let mut index = self.index.write();
        for (group, pos) in traces.iter().zip(positions) {
            index_trace(&mut index, &batch.tenant, pos, group);
        }
        Ok(report)
    }

    /// Every stored span of trace `id`, grouped by resource and scope as OTLP sends them.
    pub fn trace(
        &self,
        tenant: &TenantId,
        id: &TraceId,
    ) -> Result<Option<Vec<ResourceSpans>>, StoreError> {
        let positions: Vec<Position> = match self.index.read().get(tenant, id) {
            Some(e) => e.positions.to_vec(),
            None => return Ok(None),
        };
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut out: Vec<ResourceSpans> = Vec::new();
        for rs in self.read_trace(&positions, id)? {
            let mut rs = rs;
            for ss in &mut rs.scope_spans {
                ss.spans.retain(|s| seen.insert(s.span_id.clone()));
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
            if rs.scope_spans.is_empty() {
                continue;
            }
            // One resource, and within it one scope, however many exports the spans came in.
            match out.iter_mut().find(|o| o.resource == rs.resource) {
                Some(o) => {
                    for ss in rs.scope_spans {
                        match o
                            .scope_spans
                            .iter_mut()
                            .find(|x| x.scope == ss.scope && x.schema_url == ss.schema_url)
                        {
                            Some(x) => x.spans.extend(ss.spans),
                            None => o.scope_spans.push(ss),
                        }
                    }
                }
                None => out.push(rs),
            }
        }
        Ok(Some(out))
    }

    /// The spans of trace `id` in the records at `positions`.
    fn read_trace(
        &self,
        positions: &[Position],
        id: &TraceId,
    ) -> Result<Vec<ResourceSpans>, StoreError> {
        let dir = &self.options.dir;
        // Read under the log's lock, decode after it: appends wait only for the reads.
        let payloads = {
            let mut log = self.log.lock();
            positions
                .iter()
                .map(|&p| log.read(p).map_err(|e| StoreError::io(dir, e)))
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut out = Vec::new();
        for payload in payloads {
            out.extend(record::trace_spans(&payload, id).map_err(|e| StoreError::corrupt(dir, e))?);
        }
        Ok(out)
    }

    /// Traces matching `q`, newest first.
    pub fn search(
        &self,
        tenant: &TenantId,
        q: &TraceQuery,
    ) -> Result<Vec<TraceSummary>, StoreError> {
        let limit = if q.limit == 0 { 20 } else { q.limit };
        if q.attributes.is_empty() {
            let index = self.index.read();
            return Ok(index
                .newest_first(tenant, q.start_ms, q.end_ms)
                .filter(|(_, e)| matches_summary(e, q))
                .take(limit)
                .map(|(id, e)| summarize(id, e))
                .collect());
        }
        // Attributes are checked on the spans read back: take candidates a page at a time.
        let mut out = Vec::new();
        let mut skip = 0;
        loop {
            let page: Vec<(TraceId, Vec<Position>)> = {
                let index = self.index.read();
                index
                    .newest_first(tenant, q.start_ms, q.end_ms)
                    .filter(|(_, e)| matches_summary(e, q))
                    .skip(skip)
                    .take(limit * 4)
                    .map(|(id, e)| (*id, e.positions.to_vec()))
                    .collect()
            };
            if page.is_empty() {
                return Ok(out);
            }
            skip += page.len();
            let matched = self.with_matching_attributes(&page, q)?;
            for (id, _) in page.iter().filter(|(id, _)| matched.contains(id)) {
                if let Some(e) = self.index.read().get(tenant, id) {
                    out.push(summarize(id, e));
                }
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
    }

    /// Which of the `candidates` have a span matching `q` with all its attributes; each
    /// record is read and walked once, however many candidates it holds.
    fn with_matching_attributes(
        &self,
        candidates: &[(TraceId, Vec<Position>)],
        q: &TraceQuery,
    ) -> Result<HashSet<TraceId>, StoreError> {
        let wanted: HashSet<TraceId> = candidates.iter().map(|(id, _)| *id).collect();
        let positions: std::collections::BTreeSet<Position> = candidates
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        let mut matched = HashSet::new();
        for p in positions {
            let payload = self
                .log
                .lock()
                .read(p)
                .map_err(|e| StoreError::io(&self.options.dir, e))?;
            record::for_each_span(&payload, |rs, _, s| {
                let Some(id) = s.valid_trace_id() else {
                    return;
                };
                if wanted.contains(&id) && !matched.contains(&id) && view_matches(rs, s, q) {
                    matched.insert(id);
                }
            })
            .map_err(|e| StoreError::corrupt(&self.options.dir, e))?;
        }
        Ok(matched)
    }

    /// Services of `tenant` and their operations, sorted.
    pub fn services(&self, tenant: &TenantId) -> Vec<(String, Vec<String>)> {
        self.index
            .read()
            .operations(tenant)
            .map(|m| {
                m.iter()
                    .map(|(s, ops)| (s.to_string(), ops.iter().map(|o| o.to_string()).collect()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops spans past the retention (by age, then by size); returns segments deleted.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, StoreError> {
        let gone = self
            .log
            .lock()
            .expire(now_ms, self.options.retention, self.options.retention_bytes)
            .map_err(|e| StoreError::io(&self.options.dir, e))?;
        self.index.write().forget_segments(&gone);
        Ok(gone.len())
    }

    /// Traces indexed.
    pub fn trace_count(&self) -> usize {
        self.index.read().len()
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.log.lock().bytes()
    }
}

/// An attribute value as text, for equality search.
pub fn attribute_text(a: &KeyValue) -> String {
    match a.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

/// Whether a stored span matches the span conditions of `q`, attributes included (on
/// the span or its resource).
fn view_matches(rs: &ResourceSpansView<'_>, s: &SpanView<'_>, q: &TraceQuery) -> bool {
    let d = s.end_ns.saturating_sub(s.start_ns);
    let service = rs.service.unwrap_or(UNKNOWN_SERVICE);
    let plain = q.service.as_deref().is_none_or(|x| x == service)
        && q.operation.as_deref().is_none_or(|x| x == s.name)
        && q.min_duration_ns.is_none_or(|m| d >= m)
        && q.max_duration_ns.is_none_or(|m| d <= m);
    let text = |v: Result<Option<taishan_core::AttributeValue<'_>>, WireError>| {
        v.ok().flatten().map(|v| v.to_text())
    };
    plain
        && q.attributes.iter().all(|(k, v)| {
            text(s.attribute(k)).as_deref() == Some(v.as_str())
                || text(rs.attribute(k)).as_deref() == Some(v.as_str())
        })
}

fn summary_matches(s: &SpanSummary, q: &TraceQuery) -> bool {
    let d = s.end_ns.saturating_sub(s.start_ns);
    q.service.as_deref().is_none_or(|x| x == s.service.as_str())
        && q.operation.as_deref().is_none_or(|x| x == s.name.as_str())
        && q.min_duration_ns.is_none_or(|m| d >= m)
        && q.max_duration_ns.is_none_or(|m| d <= m)
}

fn matches_summary(e: &TraceEntry, q: &TraceQuery) -> bool {
    if let Some(want) = q.error {
        if e.spans.iter().any(|s| s.error) != want {
            return false;
        }
    }
    e.spans.iter().any(|s| summary_matches(s, q))
}

fn summarize(id: &TraceId, e: &TraceEntry) -> TraceSummary {
    let start = e.start_ns();
    let root = e.root();
    let mut services: Vec<String> = e.spans.iter().map(|s| s.service.to_string()).collect();
    services.sort();
    services.dedup();
    TraceSummary {
        trace_id: hex(id),
        root_service: root.map(|r| r.service.to_string()).unwrap_or_default(),
        root_name: root.map(|r| r.name.to_string()).unwrap_or_default(),
        start_ms: i64::try_from(start / 1_000_000).unwrap_or(i64::MAX),
        duration_ms: e.end_ns().saturating_sub(start) as f64 / 1e6,
        span_count: e.spans.len(),
        error_count: e.spans.iter().filter(|s| s.error).count(),
        services,
    }
}

/// A span as the index will keep it, its strings still borrowed from the record.
struct PendingSpan<'a> {
    trace: TraceId,
    at: record::SpanRef<'a>,
    name: &'a str,
    summary: SpanSummaryParts,
}

/// The fixed-size part of a [`SpanSummary`].
struct SpanSummaryParts {
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    kind: i32,
    error: bool,
    start_ns: u64,
    end_ns: u64,
}

/// Field of the `ResourceSpans` in an export request.
const EXPORT_SPANS_FIELD: u32 = 1;

/// The indexable spans of an export or a record (their `ResourceSpans` in field `field`),
/// and a report of the spans with malformed ids.
fn summaries<'a>(
    message: &'a [u8],
    field: u32,
) -> Result<(Vec<PendingSpan<'a>>, SpanAppendReport), WireError> {
    let mut report = SpanAppendReport::default();
    let mut out = Vec::new();
    let each = |rs: &ResourceSpansView<'a>, ss: &ScopeSpansView<'a>, s: &SpanView<'a>| {
        let (Some(trace), Some(span_id)) = (s.valid_trace_id(), s.valid_span_id()) else {
            report.rejected += 1;
            if report.errors.len() < 3 {
                report.errors.push(format!(
                    "span {:?}: trace id must be 16 bytes and span id 8 bytes, not all zero",
                    s.name
                ));
            }
            return;
        };
        report.accepted += 1;
        out.push(PendingSpan {
            trace,
            at: record::SpanRef {
                rs: *rs,
                ss: *ss,
                raw: s.raw,
            },
            name: s.name,
            summary: SpanSummaryParts {
                span_id,
                parent: s.valid_parent_id(),
                kind: s.kind,
                error: s.status_code == status::StatusCode::Error as i32,
                start_ns: s.start_ns,
                end_ns: s.end_ns,
            },
        });
    };
    taishan_core::spans::view::for_each_span(message, field, each)?;
    Ok((out, report))
}

/// The spans grouped by trace, each trace's spans in the order sent.
fn by_trace<'s, 'a>(spans: &'s mut [PendingSpan<'a>]) -> Vec<&'s [PendingSpan<'a>]> {
    spans.sort_by_key(|s| s.trace);
    spans.chunk_by(|a, b| a.trace == b.trace).collect()
}

/// Indexes one trace's spans, stored at `pos`.
fn index_trace(
    index: &mut TraceIndex,
    tenant: &TenantId,
    pos: Position,
    spans: &[PendingSpan<'_>],
) {
    let Some(first) = spans.first() else {
        return;
    };
    let summaries = spans
        .iter()
        .map(|p| SpanSummary {
            span_id: p.summary.span_id,
            parent: p.summary.parent,
            service: index.intern(p.at.rs.service.unwrap_or(UNKNOWN_SERVICE)),
            name: index.intern(p.name),
            kind: p.summary.kind,
            error: p.summary.error,
            start_ns: p.summary.start_ns,
            end_ns: p.summary.end_ns,
        })
        .collect();
    index.add(tenant, first.trace, pos, summaries);
}
