//! The log store: OTLP log records kept as exported, one record per export in a segmented
//! log (durable before the export is acknowledged), and searched newest first.
//!
//! Memory stays bounded whatever the volume: only a summary per stored record is kept
//! (time span, services, highest severity, a small bloom filter of trace ids); searches pick
//! the records whose summary can match and read those back.

pub mod bloom;
mod literals;
pub mod query;
mod sink;

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use parking_lot::{Mutex, RwLock};
use prost::Message;
use smallvec::SmallVec;
use taishan_core::TenantId;

use crate::error::StoreError;
use crate::interned::{Interner, Sym};
use crate::seglog::{Position, SegmentLog};
use crate::traces::service_name;
use bloom::Bloom;

pub use query::{LogCursor, LogLine, LogPage, LogQuery};
pub use sink::LogSink;

/// How to open a log store.
#[derive(Debug, Clone)]
pub struct LogStoreOptions {
    /// Directory of its segments.
    pub dir: PathBuf,
    /// How long records are kept.
    pub retention: Duration,
    /// Largest total size on disk (0: no limit).
    pub retention_bytes: u64,
    /// Size at which a new segment starts.
    pub segment_bytes: u64,
}

#[derive(Clone, PartialEq, Message)]
struct LogBatchRecord {
    #[prost(string, tag = "1")]
    tenant: String,
    #[prost(message, repeated, tag = "2")]
    resource_logs: Vec<ResourceLogs>,
}

/// What is kept in memory of one stored record.
#[derive(Debug, Clone)]
pub struct RecordSummary {
    pos: Position,
    tenant: TenantId,
    min_ns: u64,
    max_ns: u64,
    services: SmallVec<[Sym; 2]>,
    max_severity: i32,
    traces: Bloom,
    body_trigrams: Bloom,
}

/// The store.
#[derive(Debug)]
pub struct LogStore {
    log: Mutex<SegmentLog>,
    summaries: RwLock<Vec<RecordSummary>>,
    strings: Mutex<Interner>,
    options: LogStoreOptions,
}

/// A record's time: its own, or when it was observed.
pub(crate) fn record_time(r: &opentelemetry_proto::tonic::logs::v1::LogRecord) -> u64 {
    if r.time_unix_nano != 0 {
        r.time_unix_nano
    } else {
        r.observed_time_unix_nano
    }
}

fn summarize(
    strings: &mut Interner,
    tenant: &TenantId,
    pos: Position,
    logs: &[ResourceLogs],
) -> Option<RecordSummary> {
    let with_trace = logs
        .iter()
        .flat_map(|rl| rl.scope_logs.iter().flat_map(|sl| sl.log_records.iter()))
        .filter(|r| !r.trace_id.is_empty())
        .count();
    let mut s = RecordSummary {
        pos,
        tenant: tenant.clone(),
        min_ns: u64::MAX,
        max_ns: 0,
        services: SmallVec::new(),
        max_severity: 0,
        traces: Bloom::with_capacity(with_trace, 16),
        body_trigrams: Bloom::default(),
    };
    for rl in logs {
        let service = strings.intern(&service_name(rl.resource.as_ref()));
        if !s.services.contains(&service) {
            s.services.push(service);
        }
        for r in rl.scope_logs.iter().flat_map(|sl| sl.log_records.iter()) {
            let t = record_time(r);
            s.min_ns = s.min_ns.min(t);
            s.max_ns = s.max_ns.max(t);
            s.max_severity = s.max_severity.max(r.severity_number);
            if !r.trace_id.is_empty() {
                s.traces.insert(bloom::id_hash(&r.trace_id));
            }
        }
    }
    let bodies: Vec<String> = logs
        .iter()
        .flat_map(|rl| rl.scope_logs.iter().flat_map(|sl| sl.log_records.iter()))
        .map(|r| query::body_text(r.body.as_ref()))
        .collect();
    let tri = bloom::trigrams(bodies.iter().map(String::as_str));
    s.body_trigrams = Bloom::with_capacity(tri.len(), 10);
    for h in tri {
        s.body_trigrams.insert(h);
    }
    (s.min_ns != u64::MAX).then_some(s)
}

impl LogStore {
    /// Opens the store, re-reading the summaries of what it holds.
    pub fn open(options: LogStoreOptions) -> Result<Self, StoreError> {
        let mut strings = Interner::default();
        let mut summaries = Vec::new();
        let (log, report) =
            SegmentLog::open(&options.dir, options.segment_bytes, |pos, _, payload| {
                if let Ok(rec) = LogBatchRecord::decode(payload) {
                    if let Ok(tenant) = TenantId::new(&rec.tenant) {
                        summaries.extend(summarize(&mut strings, &tenant, pos, &rec.resource_logs));
                    }
                }
            })
            .map_err(|e| StoreError::io(&options.dir, e))?;
        tracing::info!(dir = %options.dir.display(), records = report.records, "log store opened");
        Ok(Self {
            log: Mutex::new(log),
            summaries: RwLock::new(summaries),
            strings: Mutex::new(strings),
            options,
        })
    }

    /// Stores the log records of `tenant`; durable when this returns. Returns how many.
    pub fn append(
        &self,
        tenant: &TenantId,
        resource_logs: Vec<ResourceLogs>,
    ) -> Result<usize, StoreError> {
        let count: usize = resource_logs
            .iter()
            .flat_map(|r| r.scope_logs.iter())
            .map(|s| s.log_records.len())
            .sum();
        if count == 0 {
            return Ok(0);
        }
        let newest = resource_logs
            .iter()
            .flat_map(|r| r.scope_logs.iter().flat_map(|s| s.log_records.iter()))
            .map(record_time)
            .max()
            .unwrap_or(0);
        let record = LogBatchRecord {
            tenant: tenant.as_str().to_string(),
            resource_logs,
        };
        let payload = record.encode_to_vec();
        let t = i64::try_from(newest / 1_000_000).unwrap_or(i64::MAX);
        let pos = {
            let mut log = self.log.lock();
            let pos = log
                .append(&[(t, payload.as_slice())])
                .map_err(|e| StoreError::io(&self.options.dir, e))?;
            log.sync()
                .map_err(|e| StoreError::io(&self.options.dir, e))?;
            pos[0]
        };
        let summary = summarize(&mut self.strings.lock(), tenant, pos, &record.resource_logs);
        self.summaries.write().extend(summary);
        Ok(count)
    }

    fn read(&self, pos: Position) -> Result<Vec<ResourceLogs>, StoreError> {
        let payload = self
            .log
            .lock()
            .read(pos)
            .map_err(|e| StoreError::io(&self.options.dir, e))?;
        LogBatchRecord::decode(payload.as_slice())
            .map(|r| r.resource_logs)
            .map_err(|e| StoreError::corrupt(&self.options.dir, e))
    }

    /// Drops records past the retention (by age, then by size); returns segments deleted.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, StoreError> {
        let gone = self
            .log
            .lock()
            .expire(now_ms, self.options.retention, self.options.retention_bytes)
            .map_err(|e| StoreError::io(&self.options.dir, e))?;
        if !gone.is_empty() {
            self.summaries
                .write()
                .retain(|s| !gone.contains(&s.pos.segment));
            self.strings.lock().sweep();
        }
        Ok(gone.len())
    }

    /// Records (export batches) held.
    pub fn record_count(&self) -> usize {
        self.summaries.read().len()
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.log.lock().bytes()
    }
}
