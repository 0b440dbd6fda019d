//! The trace store's record: the spans of one trace from one export, with their tenant.
//!
//! On disk a record is the protobuf message `{ 1: tenant, 2: repeated ResourceSpans }`,
//! assembled from the export's bytes: each span, resource and scope is copied byte for byte
//! and only the enclosing lengths are written anew, so a span is never decoded and
//! re-encoded on the way in. Reading a trace back decodes only its spans.

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use taishan_core::spans::view;
use taishan_core::wire::{put_len_field, put_len_header, varint_len, WireReader};
use taishan_core::{ResourceSpansView, ScopeSpansView, SpanView, WireError};

use super::index::TraceId;

/// Field of the tenant in a record.
const TENANT_FIELD: u32 = 1;
/// Field of the `ResourceSpans` in a record.
pub const SPANS_FIELD: u32 = 2;

/// A span of an export with the resource and scope it was sent under.
#[derive(Debug, Clone, Copy)]
pub struct SpanRef<'a> {
    /// Its `ResourceSpans`.
    pub rs: ResourceSpansView<'a>,
    /// Its `ScopeSpans`.
    pub ss: ScopeSpansView<'a>,
    /// The encoded span.
    pub raw: &'a [u8],
}

/// Bytes a length-delimited field of `n` payload bytes takes (field numbers below 16).
fn field_len(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

fn optional_len(field: Option<&[u8]>) -> usize {
    field.map_or(0, |b| field_len(b.len()))
}

fn text_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        field_len(s.len())
    }
}

/// The record of one trace's spans from an export, `spans` in the order sent.
pub fn encode_trace(tenant: &str, spans: &[SpanRef<'_>]) -> Vec<u8> {
    let scope_len = |group: &[SpanRef<'_>]| {
        let ss = group[0].ss;
        optional_len(ss.scope)
            + group.iter().map(|s| field_len(s.raw.len())).sum::<usize>()
            + text_len(ss.schema_url)
    };
    // Runs of spans sharing a ResourceSpans, and within it a ScopeSpans.
    let resources = spans.chunk_by(|a, b| a.rs.ordinal == b.rs.ordinal);
    let mut out = Vec::with_capacity(
        field_len(tenant.len()) + spans.iter().map(|s| s.raw.len() + 64).sum::<usize>(),
    );
    put_len_field(&mut out, TENANT_FIELD, tenant.as_bytes());
    for resource in resources {
        let rs = resource[0].rs;
        let scopes: Vec<&[SpanRef<'_>]> = resource
            .chunk_by(|a, b| a.ss.ordinal == b.ss.ordinal)
            .collect();
        let rs_len = optional_len(rs.resource)
            + scopes
                .iter()
                .map(|g| field_len(scope_len(g)))
                .sum::<usize>()
            + text_len(rs.schema_url);
        put_len_header(&mut out, SPANS_FIELD, rs_len);
        if let Some(r) = rs.resource {
            put_len_field(&mut out, 1, r);
        }
        for group in scopes {
            let ss = group[0].ss;
            put_len_header(&mut out, 2, scope_len(group));
            if let Some(scope) = ss.scope {
                put_len_field(&mut out, 1, scope);
            }
            for s in group {
                put_len_field(&mut out, 2, s.raw);
            }
            if !ss.schema_url.is_empty() {
                put_len_field(&mut out, 3, ss.schema_url.as_bytes());
            }
        }
        if !rs.schema_url.is_empty() {
            put_len_field(&mut out, 3, rs.schema_url.as_bytes());
        }
    }
    out
}

/// The tenant of a record.
pub fn tenant(record: &[u8]) -> Result<&str, WireError> {
    let mut r = WireReader::new(record);
    while !r.is_empty() {
        if let (TENANT_FIELD, _, v) = r.field()? {
            let b = v.bytes().unwrap_or_default();
            return std::str::from_utf8(b)
                .map_err(|_| WireError("record tenant is not UTF-8".into()));
        }
    }
    Err(WireError("record has no tenant".into()))
}

/// Calls `each` with every span of a record.
pub fn for_each_span<'a>(
    record: &'a [u8],
    each: impl FnMut(&ResourceSpansView<'a>, &ScopeSpansView<'a>, &SpanView<'a>),
) -> Result<(), WireError> {
    view::for_each_span(record, SPANS_FIELD, each)
}

fn invalid(e: prost::DecodeError) -> WireError {
    WireError(format!("stored span does not decode: {e}"))
}

/// The spans of trace `id` in a record, grouped by resource and scope as they were sent.
pub fn trace_spans(record: &[u8], id: &TraceId) -> Result<Vec<ResourceSpans>, WireError> {
    let mut matching = Vec::new();
    for_each_span(record, |rs, ss, s| {
        if s.trace_id == id.as_slice() {
            matching.push((*rs, *ss, s.raw));
        }
    })?;
    let mut out: Vec<ResourceSpans> = Vec::new();
    let mut last: Option<(usize, usize)> = None;
    for (rs, ss, raw) in matching {
        let span = Span::decode(raw).map_err(invalid)?;
        if last.map(|l| l.0) != Some(rs.ordinal) {
            out.push(ResourceSpans {
                resource: decode_present::<Resource>(rs.resource)?,
                scope_spans: Vec::new(),
                schema_url: rs.schema_url.to_string(),
            });
        }
        let Some(group) = out.last_mut() else {
            continue;
        };
        if last != Some((rs.ordinal, ss.ordinal)) {
            group.scope_spans.push(ScopeSpans {
                scope: decode_present(ss.scope)?,
                spans: Vec::new(),
                schema_url: ss.schema_url.to_string(),
            });
        }
        last = Some((rs.ordinal, ss.ordinal));
        if let Some(scope) = group.scope_spans.last_mut() {
            scope.spans.push(span);
        }
    }
    Ok(out)
}

/// An optional message field: absent when it was not sent.
fn decode_present<M: Message + Default>(raw: Option<&[u8]>) -> Result<Option<M>, WireError> {
    raw.map(M::decode).transpose().map_err(invalid)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use taishan_core::{SpanBatch, TenantId};

    use super::*;

    fn span(trace: u8, id: u8, name: &str) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_trace_record_holds_its_spans_with_their_resource_and_scope() {
        let long_name = "n".repeat(300); // lengths of two varint bytes
        let export = vec![
            ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "http".into(),
                            ..Default::default()
                        }),
                        spans: vec![span(1, 1, "a"), span(2, 2, "b"), span(1, 3, &long_name)],
                        schema_url: "https://s/1".into(),
                    },
                    ScopeSpans {
                        scope: None,
                        spans: vec![span(1, 4, "d")],
                        schema_url: String::new(),
                    },
                ],
                schema_url: "https://r/1".into(),
            },
            ResourceSpans {
                resource: None,
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(1, 5, "e")],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ];
        let batch = SpanBatch::from_resource_spans(TenantId::new("acme").unwrap(), export.clone());
        let mut refs = Vec::new();
        batch
            .for_each_span(|rs, ss, s| {
                if s.trace_id == [1; 16] {
                    refs.push(SpanRef {
                        rs: *rs,
                        ss: *ss,
                        raw: s.raw,
                    });
                }
            })
            .unwrap();
        let record = encode_trace("acme", &refs);
        assert_eq!(tenant(&record).unwrap(), "acme");
        let mut want = export;
        want[0].scope_spans[0].spans.remove(1);
        assert_eq!(trace_spans(&record, &[1; 16]).unwrap(), want);
    }
}
