//! Log search: newest first, with a cursor for the next page.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use regex::Regex;
use taishan_core::TenantId;

use super::{record_time, LogStore};
use crate::error::StoreError;
use crate::traces::{attribute_text, hex, service_name};

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// From (ns since the epoch, inclusive).
    pub start_ns: u64,
    /// To (ns, inclusive).
    pub end_ns: u64,
    /// Only this service.
    pub service: Option<String>,
    /// At least this OTLP severity number (9 = INFO, 13 = WARN, 17 = ERROR).
    pub min_severity: Option<i32>,
    /// The body contains this text.
    pub contains: Option<String>,
    /// The body matches this regular expression.
    pub regex: Option<Regex>,
    /// Record or resource attributes that must be equal.
    pub attributes: Vec<(String, String)>,
    /// Only lines of this trace.
    pub trace_id: Option<[u8; 16]>,
    /// Most lines returned (default 100).
    pub limit: usize,
    /// Continue after this line (from a previous page).
    pub after: Option<LogCursor>,
}

/// A place in the newest-first order of lines: time, then where the line is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogCursor {
    time_ns: u64,
    segment: u64,
    offset: u64,
    index: u32,
}

impl LogCursor {
    /// As text, for an API's `next` field.
    pub fn encode(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            self.time_ns, self.segment, self.offset, self.index
        )
    }

    /// From [`LogCursor::encode`]'s text.
    pub fn decode(s: &str) -> Option<Self> {
        let mut it = s.split('-').map(str::parse::<u64>);
        let (Some(Ok(time_ns)), Some(Ok(segment)), Some(Ok(offset)), Some(Ok(index))) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        Some(Self {
            time_ns,
            segment,
            offset,
            index: u32::try_from(index).ok()?,
        })
    }
}

/// A line found.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Its place, for paging.
    pub cursor: LogCursor,
    /// Time (ns since the epoch).
    pub time_ns: u64,
    /// `service.name` of its resource.
    pub service: String,
    /// Severity as sent.
    pub severity_text: String,
    /// OTLP severity number.
    pub severity_number: i32,
    /// The body as text.
    pub body: String,
    /// Record attributes as text.
    pub attributes: Vec<(String, String)>,
    /// Hex trace id, empty when none.
    pub trace_id: String,
    /// Hex span id, empty when none.
    pub span_id: String,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    /// Newest first.
    pub lines: Vec<LogLine>,
    /// Where the next page starts, when there may be one.
    pub next: Option<LogCursor>,
}

/// A log body as text: strings as they are, structured bodies rendered compactly.
pub fn body_text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex(b),
        Some(any_value::Value::ArrayValue(a)) => {
            let items: Vec<String> = a.values.iter().map(|x| body_text(Some(x))).collect();
            format!("[{}]", items.join(", "))
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|e| format!("{}={}", e.key, body_text(e.value.as_ref())))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Some(_) => String::new(),
    }
}

fn has(attrs: &[KeyValue], k: &str, v: &str) -> bool {
    attrs.iter().any(|a| a.key == k && attribute_text(a) == v)
}

impl LogStore {
    /// Lines of `tenant` matching `q`, newest first, one page.
    pub fn search(&self, tenant: &TenantId, q: &LogQuery) -> Result<LogPage, StoreError> {
        let limit = if q.limit == 0 { 100 } else { q.limit };
        let upper = q.after.map_or(q.end_ns, |c| c.time_ns.min(q.end_ns));
        let regex_literals = q
            .regex
            .as_ref()
            .map(|re| super::literals::RequiredLiterals::of(re.as_str()));
        let mut candidates: Vec<(u64, crate::seglog::Position)> = self
            .summaries
            .read()
            .iter()
            .filter(|s| {
                s.tenant == *tenant
                    && s.max_ns >= q.start_ns
                    && s.min_ns <= upper
                    && q.service
                        .as_deref()
                        .is_none_or(|x| s.services.iter().any(|v| v.as_str() == x))
                    && q.min_severity.is_none_or(|m| s.max_severity >= m)
                    && q.trace_id
                        .is_none_or(|t| s.traces.may_contain(super::bloom::id_hash(&t)))
                    && q.contains
                        .as_deref()
                        .is_none_or(|c| super::bloom::may_contain_substring(&s.body_trigrams, c))
                    && regex_literals
                        .as_ref()
                        .is_none_or(|r| r.may_match(&s.body_trigrams))
            })
            .map(|s| (s.max_ns, s.pos))
            .collect();
        candidates.sort_by(|a, b| b.cmp(a));
        let mut found: Vec<LogLine> = Vec::new();
        let mut more = false;
        for (max_ns, pos) in candidates {
            if found.len() >= limit {
                // The page is full once no remaining record can hold a newer line.
                let kth = found[limit - 1].cursor;
                if max_ns < kth.time_ns {
                    more = true;
                    break;
                }
            }
            let mut index = 0u32;
            for rl in self.read(pos)? {
                let service = service_name(rl.resource.as_ref());
                let resource_attrs = rl
                    .resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or(&[]);
                for r in rl.scope_logs.iter().flat_map(|sl| sl.log_records.iter()) {
                    let cursor = LogCursor {
                        time_ns: record_time(r),
                        segment: pos.segment,
                        offset: pos.offset,
                        index,
                    };
                    index += 1;
                    if cursor.time_ns < q.start_ns
                        || cursor.time_ns > q.end_ns
                        || q.after.is_some_and(|a| cursor >= a)
                    {
                        continue;
                    }
                    if q.service.as_deref().is_some_and(|x| x != service)
                        || q.min_severity.is_some_and(|m| r.severity_number < m)
                        || q.trace_id.is_some_and(|t| r.trace_id.as_slice() != t)
                        || !q
                            .attributes
                            .iter()
                            .all(|(k, v)| has(&r.attributes, k, v) || has(resource_attrs, k, v))
                    {
                        continue;
                    }
                    let body = body_text(r.body.as_ref());
                    if q.contains.as_deref().is_some_and(|c| !body.contains(c))
                        || q.regex.as_ref().is_some_and(|re| !re.is_match(&body))
                    {
                        continue;
                    }
                    found.push(LogLine {
                        cursor,
                        time_ns: cursor.time_ns,
                        service: service.clone(),
                        severity_text: r.severity_text.clone(),
                        severity_number: r.severity_number,
                        body,
                        attributes: r
                            .attributes
                            .iter()
                            .map(|a| (a.key.clone(), attribute_text(a)))
                            .collect(),
                        trace_id: hex(&r.trace_id),
                        span_id: hex(&r.span_id),
                    });
                }
            }
            found.sort_by_key(|l| std::cmp::Reverse(l.cursor));
            if found.len() > limit {
                found.truncate(limit);
                more = true;
            }
        }
        let next = (more && found.len() == limit).then(|| found[limit - 1].cursor);
        Ok(LogPage { lines: found, next })
    }
}
