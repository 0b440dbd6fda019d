//! The trace store: spans kept as OTLP, one record per trace and export in a segmented log
//! (durable before an export is acknowledged), an in-memory index for lookup by trace id and
//! search, and retention by age and size.
//!
//! Spans of one trace may arrive in any order, late, or twice: a trace is whatever records
//! mention its id, assembled at read time, each span id kept once.

pub mod index;
pub mod signals;
mod sink;

pub use sink::TraceSink;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span};
use parking_lot::{Mutex, RwLock};
use prost::Message;
use taishan_core::TenantId;

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

/// What a stored record holds: the spans of one trace from one export.
#[derive(Clone, PartialEq, Message)]
struct TraceRecord {
    #[prost(string, tag = "1")]
    tenant: String,
    #[prost(message, repeated, tag = "2")]
    resource_spans: Vec<ResourceSpans>,
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

/// `service.name` of a resource ("unknown_service" as the SDKs default).
pub fn service_name(resource: Option<&Resource>) -> String {
    resource
        .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
        .and_then(|a| a.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "unknown_service".to_string())
}

fn trace_id(s: &Span) -> Option<TraceId> {
    s.trace_id
        .as_slice()
        .try_into()
        .ok()
        .filter(|id: &TraceId| id.iter().any(|b| *b != 0))
}

fn span_id(b: &[u8]) -> Option<[u8; 8]> {
    b.try_into()
        .ok()
        .filter(|id: &[u8; 8]| id.iter().any(|b| *b != 0))
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
                if let Ok(record) = TraceRecord::decode(payload) {
                    if let Ok(tenant) = TenantId::new(&record.tenant) {
                        index_record(&mut index, &tenant, pos, &record.resource_spans);
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

    /// Stores spans of `tenant`; durable when this returns. Spans with malformed ids are
    /// refused and reported.
    pub fn append(
        &self,
        tenant: &TenantId,
        resource_spans: Vec<ResourceSpans>,
    ) -> Result<(SpanAppendReport, Vec<ResourceSpans>), StoreError> {
        let mut report = SpanAppendReport::default();
        // Regroup by trace: one record per trace, each with its spans' resource and scope.
        let mut per_trace: BTreeMap<TraceId, Vec<ResourceSpans>> = BTreeMap::new();
        for rs in resource_spans {
            for ss in rs.scope_spans {
                for span in ss.spans {
                    let (Some(t), Some(_)) = (trace_id(&span), span_id(&span.span_id)) else {
                        report.rejected += 1;
                        if report.errors.len() < 3 {
                            report.errors.push(format!(
                                "span {:?}: trace id must be 16 bytes and span id 8 bytes, not all zero",
                                span.name
                            ));
                        }
                        continue;
                    };
                    report.accepted += 1;
                    let group = per_trace.entry(t).or_default();
                    let same = group
                        .last_mut()
                        .filter(|g| g.resource == rs.resource && g.schema_url == rs.schema_url);
                    let target = match same {
                        Some(g) => g,
                        None => {
                            group.push(ResourceSpans {
                                resource: rs.resource.clone(),
                                scope_spans: Vec::new(),
                                schema_url: rs.schema_url.clone(),
                            });
                            group.last_mut().expect("just pushed")
                        }
                    };
                    match target
                        .scope_spans
                        .last_mut()
                        .filter(|s| s.scope == ss.scope)
                    {
                        Some(s) => s.spans.push(span),
                        None => target.scope_spans.push(ScopeSpans {
                            scope: ss.scope.clone(),
                            spans: vec![span],
                            schema_url: ss.schema_url.clone(),
                        }),
                    }
                }
            }
        }
        if per_trace.is_empty() {
            return Ok((report, Vec::new()));
        }
        let records: Vec<(TraceId, i64, Vec<u8>, Vec<ResourceSpans>)> = per_trace
            .into_iter()
            .map(|(id, rs)| {
                let newest = rs
                    .iter()
                    .flat_map(|r| r.scope_spans.iter().flat_map(|s| s.spans.iter()))
                    .map(|s| s.end_time_unix_nano.max(s.start_time_unix_nano))
                    .max()
                    .unwrap_or(0);
                let t = i64::try_from(newest / 1_000_000).unwrap_or(i64::MAX);
                let mut record = TraceRecord {
                    tenant: tenant.as_str().to_string(),
                    resource_spans: rs,
                };
                let payload = record.encode_to_vec();
                (id, t, payload, std::mem::take(&mut record.resource_spans))
            })
            .collect();
        let positions = {
            let mut log = self.log.lock();
            let frames: Vec<(i64, &[u8])> = records
                .iter()
                .map(|(_, t, p, _)| (*t, p.as_slice()))
                .collect();
            let positions = log
                .append(&frames)
                .map_err(|e| StoreError::io(&self.options.dir, e))?;
            log.sync()
                .map_err(|e| StoreError::io(&self.options.dir, e))?;
            positions
        };
        let mut index = self.index.write();
        for ((_, _, _, spans), pos) in records.iter().zip(positions) {
            index_record(&mut index, tenant, pos, spans);
        }
        drop(index);
        let stored = records
            .into_iter()
            .flat_map(|(_, _, _, spans)| spans)
            .collect();
        Ok((report, stored))
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
        for rs in self.read_records(&positions)? {
            let mut rs = rs;
            for ss in &mut rs.scope_spans {
                ss.spans
                    .retain(|s| trace_id(s).as_ref() == Some(id) && seen.insert(s.span_id.clone()));
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

    fn read_records(&self, positions: &[Position]) -> Result<Vec<ResourceSpans>, StoreError> {
        let mut log = self.log.lock();
        let mut out = Vec::new();
        for &p in positions {
            let payload = log
                .read(p)
                .map_err(|e| StoreError::io(&self.options.dir, e))?;
            let record = TraceRecord::decode(payload.as_slice()).map_err(|e| {
                StoreError::io(
                    &self.options.dir,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            })?;
            out.extend(record.resource_spans);
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
            for (id, positions) in page {
                if self.has_matching_attributes(&id, &positions, q)? {
                    if let Some(e) = self.index.read().get(tenant, &id) {
                        out.push(summarize(&id, e));
                    }
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
        }
    }

    fn has_matching_attributes(
        &self,
        id: &TraceId,
        positions: &[Position],
        q: &TraceQuery,
    ) -> Result<bool, StoreError> {
        for rs in self.read_records(positions)? {
            let service = service_name(rs.resource.as_ref());
            let resource_attrs = rs
                .resource
                .as_ref()
                .map(|r| r.attributes.as_slice())
                .unwrap_or(&[]);
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    if trace_id(s).as_ref() != Some(id) || !span_matches(&service, s, q) {
                        continue;
                    }
                    let all = q.attributes.iter().all(|(k, v)| {
                        has_attribute(&s.attributes, k, v) || has_attribute(resource_attrs, k, v)
                    });
                    if all {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
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
        let keep_ms = i64::try_from(self.options.retention.as_millis()).unwrap_or(i64::MAX);
        let gone = self
            .log
            .lock()
            .drop_old(now_ms.saturating_sub(keep_ms), self.options.retention_bytes)
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

fn has_attribute(attrs: &[KeyValue], key: &str, value: &str) -> bool {
    attrs
        .iter()
        .any(|a| a.key == key && crate::traces::attribute_text(a) == value)
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

fn is_error(s: &Span) -> bool {
    s.status
        .as_ref()
        .is_some_and(|st| st.code == status::StatusCode::Error as i32)
}

fn span_matches(service: &str, s: &Span, q: &TraceQuery) -> bool {
    let d = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano);
    q.service.as_deref().is_none_or(|x| x == service)
        && q.operation.as_deref().is_none_or(|x| x == s.name)
        && q.min_duration_ns.is_none_or(|m| d >= m)
        && q.max_duration_ns.is_none_or(|m| d <= m)
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

fn index_record(
    index: &mut TraceIndex,
    tenant: &TenantId,
    pos: Position,
    resource_spans: &[ResourceSpans],
) {
    let mut by_trace: BTreeMap<TraceId, Vec<SpanSummary>> = BTreeMap::new();
    for rs in resource_spans {
        let service = index.intern(&service_name(rs.resource.as_ref()));
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                let (Some(t), Some(sid)) = (trace_id(s), span_id(&s.span_id)) else {
                    continue;
                };
                let name = index.intern(&s.name);
                by_trace.entry(t).or_default().push(SpanSummary {
                    span_id: sid,
                    parent: span_id(&s.parent_span_id),
                    service: service.clone(),
                    name,
                    kind: s.kind,
                    error: is_error(s),
                    start_ns: s.start_time_unix_nano,
                    end_ns: s.end_time_unix_nano,
                });
            }
        }
    }
    for (t, spans) in by_trace {
        index.add(tenant, t, pos, spans);
    }
}
