//! Borrowed views of encoded OTLP spans: what indexing and derived signals read of a span
//! (ids, name, kind, times, status, a few attributes), lent straight from the export's bytes.
//!
//! Decoding a span into the generated types allocates two strings per attribute; at a
//! hundred thousand spans a second of twenty attributes each, that allocation was most of
//! the ingest cost. The input is expected to have passed [`super::schema`] validation; a
//! malformed one still gives an error, never a panic.

use crate::wire::wire_type::{FIXED64, LEN, VARINT};
use crate::wire::{FieldValue, WireError, WireReader};

/// One `ResourceSpans`, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSpansView<'a> {
    /// Its place among the message's `ResourceSpans`.
    pub ordinal: usize,
    /// The encoded `Resource`, when sent.
    pub resource: Option<&'a [u8]>,
    /// Its schema URL.
    pub schema_url: &'a str,
    /// `service.name` of the resource, when it has one.
    pub service: Option<&'a str>,
}

/// One `ScopeSpans`, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ScopeSpansView<'a> {
    /// Its place among its resource's `ScopeSpans`.
    pub ordinal: usize,
    /// The encoded `InstrumentationScope`, when sent.
    pub scope: Option<&'a [u8]>,
    /// Its schema URL.
    pub schema_url: &'a str,
}

/// One span, borrowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpanView<'a> {
    /// The whole encoded span.
    pub raw: &'a [u8],
    /// Trace id bytes as sent (16 when valid).
    pub trace_id: &'a [u8],
    /// Span id bytes as sent (8 when valid).
    pub span_id: &'a [u8],
    /// Parent span id bytes (empty for a root).
    pub parent_span_id: &'a [u8],
    /// Span name.
    pub name: &'a str,
    /// OTLP `SpanKind` number.
    pub kind: i32,
    /// Start, ns since the epoch.
    pub start_ns: u64,
    /// End, ns since the epoch.
    pub end_ns: u64,
    /// OTLP `Status.code` number (0 unset, 1 ok, 2 error).
    pub status_code: i32,
}

/// An attribute's value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttributeValue<'a> {
    /// A string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// Bytes, arrays, maps, or nothing.
    Other,
}

impl AttributeValue<'_> {
    /// As text, for equality search and labels (empty for bytes, arrays and maps).
    pub fn to_text(&self) -> String {
        match self {
            AttributeValue::Str(s) => (*s).to_string(),
            AttributeValue::Bool(b) => b.to_string(),
            AttributeValue::Int(i) => i.to_string(),
            AttributeValue::Double(d) => d.to_string(),
            AttributeValue::Other => String::new(),
        }
    }
}

fn text(b: &[u8]) -> Result<&str, WireError> {
    simdutf8::basic::from_utf8(b).map_err(|_| WireError("string is not valid UTF-8".into()))
}

fn len_bytes<'a>(v: FieldValue<'a>) -> Result<&'a [u8], WireError> {
    v.bytes()
        .ok_or_else(|| WireError("expected a length-delimited field".into()))
}

// The hot loops below read keys and then only the fields they want, by wire type; a
// known field number with another wire type is skipped (validation has refused those).

fn any_value(data: &[u8]) -> Result<AttributeValue<'_>, WireError> {
    let mut out = AttributeValue::Other;
    let mut r = WireReader::new(data);
    while !r.is_empty() {
        let (n, _, v) = r.field()?;
        out = match (n, v) {
            (1, FieldValue::Len(b)) => AttributeValue::Str(text(b)?),
            (2, FieldValue::Varint(x)) => AttributeValue::Bool(x != 0),
            // int64 on the wire is the two's complement bit pattern.
            (3, FieldValue::Varint(x)) => AttributeValue::Int(x as i64),
            (4, FieldValue::Fixed64(x)) => AttributeValue::Double(f64::from_bits(x)),
            (5..=8, _) => AttributeValue::Other,
            _ => continue,
        };
    }
    Ok(out)
}

/// The value of attribute `key` among the `KeyValue`s in field `field` of `message`; the
/// last one wins when a key repeats.
pub fn attribute<'a>(
    message: &'a [u8],
    field: u32,
    key: &str,
) -> Result<Option<AttributeValue<'a>>, WireError> {
    attributes(message, field, [key]).map(|[v]| v)
}

/// The values of attributes `keys` among the `KeyValue`s in field `field` of `message`, in
/// one pass; the last one wins when a key repeats.
pub fn attributes<'a, const N: usize>(
    message: &'a [u8],
    field: u32,
    keys: [&str; N],
) -> Result<[Option<AttributeValue<'a>>; N], WireError> {
    let mut found = [None; N];
    let mut r = WireReader::new(message);
    while !r.is_empty() {
        let (n, w) = r.key()?;
        if n != field || w != LEN {
            r.skip(w)?;
            continue;
        }
        let mut kv = WireReader::new(r.len_delimited()?);
        let (mut k, mut value): (&[u8], Option<&[u8]>) = (&[], None);
        while !kv.is_empty() {
            match kv.key()? {
                (1, LEN) => k = kv.len_delimited()?,
                (2, LEN) => value = Some(kv.len_delimited()?),
                (_, w) => kv.skip(w)?,
            }
        }
        if let Some(i) = keys.iter().position(|key| key.as_bytes() == k) {
            found[i] = Some(match value {
                Some(v) => any_value(v)?,
                None => AttributeValue::Other,
            });
        }
    }
    Ok(found)
}

impl<'a> ResourceSpansView<'a> {
    /// A resource attribute.
    pub fn attribute(&self, key: &str) -> Result<Option<AttributeValue<'a>>, WireError> {
        attribute(self.resource.unwrap_or_default(), 1, key)
    }
}

impl<'a> SpanView<'a> {
    /// A span attribute.
    pub fn attribute(&self, key: &str) -> Result<Option<AttributeValue<'a>>, WireError> {
        attribute(self.raw, 9, key)
    }

    /// Span attributes `keys`, read in one pass.
    pub fn attributes<const N: usize>(
        &self,
        keys: [&str; N],
    ) -> Result<[Option<AttributeValue<'a>>; N], WireError> {
        attributes(self.raw, 9, keys)
    }

    /// The trace id when it is valid (16 bytes, not all zero).
    pub fn valid_trace_id(&self) -> Option<[u8; 16]> {
        self.trace_id
            .try_into()
            .ok()
            .filter(|id: &[u8; 16]| id.iter().any(|b| *b != 0))
    }

    /// The span id when it is valid (8 bytes, not all zero).
    pub fn valid_span_id(&self) -> Option<[u8; 8]> {
        valid_span_id(self.span_id)
    }

    /// The parent's span id, none for a root span.
    pub fn valid_parent_id(&self) -> Option<[u8; 8]> {
        valid_span_id(self.parent_span_id)
    }

    /// Reads the fields a view holds from an encoded span.
    pub fn parse(raw: &'a [u8]) -> Result<Self, WireError> {
        let mut s = SpanView {
            raw,
            ..SpanView::default()
        };
        let mut r = WireReader::new(raw);
        while !r.is_empty() {
            match r.key()? {
                (1, LEN) => s.trace_id = r.len_delimited()?,
                (2, LEN) => s.span_id = r.len_delimited()?,
                (4, LEN) => s.parent_span_id = r.len_delimited()?,
                (5, LEN) => s.name = text(r.len_delimited()?)?,
                // Enums are int32 on the wire; truncation is what prost does too.
                (6, VARINT) => s.kind = r.varint()? as i32,
                (7, FIXED64) => s.start_ns = r.fixed64()?,
                (8, FIXED64) => s.end_ns = r.fixed64()?,
                (15, LEN) => {
                    let mut st = WireReader::new(r.len_delimited()?);
                    while !st.is_empty() {
                        match st.key()? {
                            (3, VARINT) => s.status_code = st.varint()? as i32,
                            (_, w) => st.skip(w)?,
                        }
                    }
                }
                (_, w) => r.skip(w)?,
            }
        }
        Ok(s)
    }
}

/// An 8-byte, not all-zero span id.
pub fn valid_span_id(b: &[u8]) -> Option<[u8; 8]> {
    b.try_into()
        .ok()
        .filter(|id: &[u8; 8]| id.iter().any(|b| *b != 0))
}

/// Every `ResourceSpans` (field `field` of `message`: 1 in an export request) with its
/// encoded bytes.
pub fn resource_spans<'a>(
    message: &'a [u8],
    field: u32,
) -> Result<Vec<(&'a [u8], ResourceSpansView<'a>)>, WireError> {
    let mut out = Vec::new();
    let mut r = WireReader::new(message);
    while !r.is_empty() {
        let (n, _, v) = r.field()?;
        if n != field {
            continue;
        }
        let raw = len_bytes(v)?;
        let mut view = ResourceSpansView {
            ordinal: out.len(),
            resource: None,
            schema_url: "",
            service: None,
        };
        let mut rs = WireReader::new(raw);
        while !rs.is_empty() {
            match rs.field()? {
                (1, _, v) => view.resource = Some(len_bytes(v)?),
                (3, _, v) => view.schema_url = text(len_bytes(v)?)?,
                _ => {}
            }
        }
        view.service = match view.attribute("service.name")? {
            Some(AttributeValue::Str(s)) => Some(s),
            _ => None,
        };
        out.push((raw, view));
    }
    Ok(out)
}

/// Calls `each` with every span of every scope of every `ResourceSpans` in field `field`
/// of `message`, in the order sent.
pub fn for_each_span<'a>(
    message: &'a [u8],
    field: u32,
    mut each: impl FnMut(&ResourceSpansView<'a>, &ScopeSpansView<'a>, &SpanView<'a>),
) -> Result<(), WireError> {
    for (raw, rs) in resource_spans(message, field)? {
        let mut r = WireReader::new(raw);
        let mut ordinal = 0;
        while !r.is_empty() {
            let (n, _, v) = r.field()?;
            if n != 2 {
                continue;
            }
            let scope_spans = len_bytes(v)?;
            let mut ss = ScopeSpansView {
                ordinal,
                scope: None,
                schema_url: "",
            };
            let mut spans = Vec::new();
            let mut sr = WireReader::new(scope_spans);
            while !sr.is_empty() {
                match sr.field()? {
                    (1, _, v) => ss.scope = Some(len_bytes(v)?),
                    (2, _, v) => spans.push(len_bytes(v)?),
                    (3, _, v) => ss.schema_url = text(len_bytes(v)?)?,
                    _ => {}
                }
            }
            for span in spans {
                each(&rs, &ss, &SpanView::parse(span)?);
            }
            ordinal += 1;
        }
    }
    Ok(())
}
