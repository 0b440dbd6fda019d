//! Validation of an encoded OTLP trace export against its schema, without decoding it.
//!
//! Spans are stored as received; whatever is stored must decode later with the generated
//! (prost) types, so every known field is checked here as prost would on decoding: its wire
//! type, UTF-8 of strings, and well-formed nested messages, to a bounded depth. Unknown
//! fields are skipped, as protobuf asks.

use crate::wire::{wire_type, WireError, WireReader};

/// What a field holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// int32, int64, uint32, bool, enum.
    Varint,
    Fixed64,
    Fixed32,
    Bytes,
    Str,
    Message(&'static Schema),
}

/// A message type: its name (for errors) and known fields.
#[derive(Debug)]
pub(crate) struct Schema {
    name: &'static str,
    fields: &'static [(u32, &'static str, Kind)],
}

/// Nesting deeper than this is refused (prost's own limit is 100).
const MAX_DEPTH: u32 = 64;

static ANY_VALUE: Schema = Schema {
    name: "AnyValue",
    fields: &[
        (1, "string_value", Kind::Str),
        (2, "bool_value", Kind::Varint),
        (3, "int_value", Kind::Varint),
        (4, "double_value", Kind::Fixed64),
        (5, "array_value", Kind::Message(&ARRAY_VALUE)),
        (6, "kvlist_value", Kind::Message(&KEY_VALUE_LIST)),
        (7, "bytes_value", Kind::Bytes),
        (8, "string_value_strindex", Kind::Varint),
    ],
};

static ARRAY_VALUE: Schema = Schema {
    name: "ArrayValue",
    fields: &[(1, "values", Kind::Message(&ANY_VALUE))],
};

static KEY_VALUE_LIST: Schema = Schema {
    name: "KeyValueList",
    fields: &[(1, "values", Kind::Message(&KEY_VALUE))],
};

static KEY_VALUE: Schema = Schema {
    name: "KeyValue",
    fields: &[
        (1, "key", Kind::Str),
        (2, "value", Kind::Message(&ANY_VALUE)),
        (3, "key_strindex", Kind::Varint),
    ],
};

static ENTITY_REF: Schema = Schema {
    name: "EntityRef",
    fields: &[
        (1, "schema_url", Kind::Str),
        (2, "type", Kind::Str),
        (3, "id_keys", Kind::Str),
        (4, "description_keys", Kind::Str),
    ],
};

static RESOURCE: Schema = Schema {
    name: "Resource",
    fields: &[
        (1, "attributes", Kind::Message(&KEY_VALUE)),
        (2, "dropped_attributes_count", Kind::Varint),
        (3, "entity_refs", Kind::Message(&ENTITY_REF)),
    ],
};

static SCOPE: Schema = Schema {
    name: "InstrumentationScope",
    fields: &[
        (1, "name", Kind::Str),
        (2, "version", Kind::Str),
        (3, "attributes", Kind::Message(&KEY_VALUE)),
        (4, "dropped_attributes_count", Kind::Varint),
    ],
};

static EVENT: Schema = Schema {
    name: "Span.Event",
    fields: &[
        (1, "time_unix_nano", Kind::Fixed64),
        (2, "name", Kind::Str),
        (3, "attributes", Kind::Message(&KEY_VALUE)),
        (4, "dropped_attributes_count", Kind::Varint),
    ],
};

static LINK: Schema = Schema {
    name: "Span.Link",
    fields: &[
        (1, "trace_id", Kind::Bytes),
        (2, "span_id", Kind::Bytes),
        (3, "trace_state", Kind::Str),
        (4, "attributes", Kind::Message(&KEY_VALUE)),
        (5, "dropped_attributes_count", Kind::Varint),
        (6, "flags", Kind::Fixed32),
    ],
};

static STATUS: Schema = Schema {
    name: "Status",
    fields: &[(2, "message", Kind::Str), (3, "code", Kind::Varint)],
};

static SPAN: Schema = Schema {
    name: "Span",
    fields: &[
        (1, "trace_id", Kind::Bytes),
        (2, "span_id", Kind::Bytes),
        (3, "trace_state", Kind::Str),
        (4, "parent_span_id", Kind::Bytes),
        (5, "name", Kind::Str),
        (6, "kind", Kind::Varint),
        (7, "start_time_unix_nano", Kind::Fixed64),
        (8, "end_time_unix_nano", Kind::Fixed64),
        (9, "attributes", Kind::Message(&KEY_VALUE)),
        (10, "dropped_attributes_count", Kind::Varint),
        (11, "events", Kind::Message(&EVENT)),
        (12, "dropped_events_count", Kind::Varint),
        (13, "links", Kind::Message(&LINK)),
        (14, "dropped_links_count", Kind::Varint),
        (15, "status", Kind::Message(&STATUS)),
        (16, "flags", Kind::Fixed32),
    ],
};

static SCOPE_SPANS: Schema = Schema {
    name: "ScopeSpans",
    fields: &[
        (1, "scope", Kind::Message(&SCOPE)),
        (2, "spans", Kind::Message(&SPAN)),
        (3, "schema_url", Kind::Str),
    ],
};

static RESOURCE_SPANS: Schema = Schema {
    name: "ResourceSpans",
    fields: &[
        (1, "resource", Kind::Message(&RESOURCE)),
        (2, "scope_spans", Kind::Message(&SCOPE_SPANS)),
        (3, "schema_url", Kind::Str),
    ],
};

/// `ExportTraceServiceRequest`.
pub(crate) static TRACE_EXPORT: Schema = Schema {
    name: "ExportTraceServiceRequest",
    fields: &[(1, "resource_spans", Kind::Message(&RESOURCE_SPANS))],
};

fn expected_wire(kind: Kind) -> u8 {
    match kind {
        Kind::Varint => wire_type::VARINT,
        Kind::Fixed64 => wire_type::FIXED64,
        Kind::Fixed32 => wire_type::FIXED32,
        Kind::Bytes | Kind::Str | Kind::Message(_) => wire_type::LEN,
    }
}

/// Checks that `data` is a well-formed message of `schema`.
pub(crate) fn validate(data: &[u8], schema: &'static Schema) -> Result<(), WireError> {
    check(data, schema, 0)
}

fn check(data: &[u8], schema: &'static Schema, depth: u32) -> Result<(), WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError(format!(
            "{}: nested more than {MAX_DEPTH} levels deep",
            schema.name
        )));
    }
    let mut r = WireReader::new(data);
    while !r.is_empty() {
        let (number, wire) = r
            .key()
            .map_err(|e| WireError(format!("{}: {e}", schema.name)))?;
        // Fields are listed by number, so the field numbered n is usually at n - 1.
        let known = schema
            .fields
            .get(number as usize - 1)
            .filter(|f| f.0 == number)
            .or_else(|| schema.fields.iter().find(|(n, _, _)| *n == number));
        let at = |e: WireError| WireError(format!("{}: {e}", schema.name));
        let Some(&(_, field, kind)) = known else {
            r.skip(wire).map_err(at)?;
            continue;
        };
        if wire != expected_wire(kind) {
            return Err(WireError(format!(
                "{}.{field}: wrong wire type {wire}",
                schema.name
            )));
        }
        match kind {
            Kind::Str => {
                let b = r.len_delimited().map_err(at)?;
                if simdutf8::basic::from_utf8(b).is_err() {
                    return Err(WireError(format!(
                        "{}.{field}: string is not valid UTF-8",
                        schema.name
                    )));
                }
            }
            Kind::Message(inner) => check(r.len_delimited().map_err(at)?, inner, depth + 1)?,
            _ => r.skip(wire).map_err(at)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{put_len_field, put_varint};

    fn span_with_name(name: &[u8]) -> Vec<u8> {
        let mut span = Vec::new();
        put_len_field(&mut span, 5, name);
        let mut scope_spans = Vec::new();
        put_len_field(&mut scope_spans, 2, &span);
        let mut rs = Vec::new();
        put_len_field(&mut rs, 2, &scope_spans);
        let mut req = Vec::new();
        put_len_field(&mut req, 1, &rs);
        req
    }

    #[test]
    fn accepts_valid_and_unknown_fields() {
        let mut req = span_with_name("charge".as_bytes());
        put_varint(&mut req, 99 << 3);
        put_varint(&mut req, 7);
        validate(&req, &TRACE_EXPORT).unwrap();
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        let e = validate(&span_with_name(&[0xff, 0xfe]), &TRACE_EXPORT).unwrap_err();
        assert_eq!(e.0, "Span.name: string is not valid UTF-8");
        let mut status = Vec::new();
        put_varint(&mut status, (3 << 3) | 2);
        put_varint(&mut status, 0);
        let mut span = Vec::new();
        put_len_field(&mut span, 15, &status);
        let mut ss = Vec::new();
        put_len_field(&mut ss, 2, &span);
        let mut rs = Vec::new();
        put_len_field(&mut rs, 2, &ss);
        let mut req = Vec::new();
        put_len_field(&mut req, 1, &rs);
        let e = validate(&req, &TRACE_EXPORT).unwrap_err();
        assert_eq!(e.0, "Status.code: wrong wire type 2");
    }

    #[test]
    fn refuses_runaway_nesting() {
        // An attribute value of arrays within arrays, deeper than the limit.
        let mut value = Vec::new();
        put_len_field(&mut value, 1, b"leaf");
        for _ in 0..80 {
            let mut array = Vec::new();
            put_len_field(&mut array, 1, &value);
            value.clear();
            put_len_field(&mut value, 5, &array);
        }
        let mut kv = Vec::new();
        put_len_field(&mut kv, 1, b"k");
        put_len_field(&mut kv, 2, &value);
        let mut resource = Vec::new();
        put_len_field(&mut resource, 1, &kv);
        let mut rs = Vec::new();
        put_len_field(&mut rs, 1, &resource);
        let mut req = Vec::new();
        put_len_field(&mut req, 1, &rs);
        assert!(validate(&req, &TRACE_EXPORT)
            .unwrap_err()
            .0
            .contains("nested more than"));
    }
}
