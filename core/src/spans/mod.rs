//! Spans on their way to storage. Spans travel as the encoded OTLP export they arrived in
//! (validated against the OTLP schema once, at the edge), so nothing is lost between an SDK
//! and the trace store and nothing is decoded and re-encoded on the way.

mod schema;
pub mod view;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message;

use crate::bus::AppendError;
use crate::tenant::TenantId;
use crate::wire::WireError;
pub use view::{AttributeValue, ResourceSpansView, ScopeSpansView, SpanView};

/// Spans of one tenant: an encoded OTLP `ExportTraceServiceRequest` that has been checked
/// to decode.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanBatch {
    /// Owner.
    pub tenant: TenantId,
    request: Bytes,
}

impl SpanBatch {
    /// A batch of an encoded export, refused (naming the field) unless it is a well-formed
    /// `ExportTraceServiceRequest`.
    pub fn from_request(tenant: TenantId, request: Bytes) -> Result<Self, WireError> {
        schema::validate(&request, &schema::TRACE_EXPORT)?;
        Ok(Self { tenant, request })
    }

    /// A batch of decoded spans (encoded here).
    pub fn from_resource_spans(tenant: TenantId, resource_spans: Vec<ResourceSpans>) -> Self {
        let request = ExportTraceServiceRequest { resource_spans }.encode_to_vec();
        Self {
            tenant,
            request: Bytes::from(request),
        }
    }

    /// The encoded export.
    pub fn request(&self) -> &Bytes {
        &self.request
    }

    /// Splits the batch by the tenant each resource names in its attribute `attribute`;
    /// resources without it stay with this batch's tenant.
    pub fn split_by_tenant(self, attribute: &str) -> Result<Vec<SpanBatch>, TenantSplitError> {
        let mut parts: Vec<(TenantId, Vec<u8>)> = Vec::new();
        for (raw, rs) in view::resource_spans(&self.request, 1)? {
            let tenant = match rs.attribute(attribute)? {
                Some(v) => {
                    TenantId::new(&v.to_text()).map_err(|source| TenantSplitError::Tenant {
                        attribute: attribute.to_string(),
                        source,
                    })?
                }
                None => self.tenant.clone(),
            };
            let at = match parts.iter().position(|(t, _)| *t == tenant) {
                Some(i) => i,
                None => {
                    parts.push((tenant, Vec::new()));
                    parts.len() - 1
                }
            };
            crate::wire::put_len_field(&mut parts[at].1, 1, raw);
        }
        if parts.len() == 1 && parts[0].0 == self.tenant {
            return Ok(vec![self]);
        }
        // Each part is made of whole, already validated `ResourceSpans`.
        Ok(parts
            .into_iter()
            .map(|(tenant, request)| SpanBatch {
                tenant,
                request: Bytes::from(request),
            })
            .collect())
    }

    /// Calls `each` with every span, borrowed from the encoded export.
    pub fn for_each_span<'a>(
        &'a self,
        each: impl FnMut(&ResourceSpansView<'a>, &ScopeSpansView<'a>, &SpanView<'a>),
    ) -> Result<(), WireError> {
        view::for_each_span(&self.request, 1, each)
    }
}

/// Why a batch could not be split by tenant.
#[derive(Debug, thiserror::Error)]
pub enum TenantSplitError {
    /// A resource names a tenant that is not a valid tenant id.
    #[error("resource attribute {attribute:?} is not a valid tenant: {source}")]
    Tenant {
        /// The attribute naming tenants.
        attribute: String,
        /// Why the id is invalid.
        source: crate::tenant::TenantError,
    },
    /// The export could not be read.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// What storing a span batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanOutcome {
    /// Spans now durable.
    pub accepted: usize,
    /// Spans refused (malformed ids).
    pub rejected: usize,
    /// Why, for the first few.
    pub errors: Vec<String>,
}

/// Where spans end up: implemented by the trace store (and what derives signals from it).
#[async_trait]
pub trait SpanSink: Send + Sync + 'static {
    /// Makes the spans durable (or refuses the batch whole) before returning.
    async fn append_spans(&self, batch: SpanBatch) -> Result<SpanOutcome, AppendError>;
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span, Status};

    use super::*;

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn views_read_what_prost_encoded() {
        let span = Span {
            trace_id: vec![7; 16],
            span_id: vec![1; 8],
            parent_span_id: vec![2; 8],
            name: "charge".into(),
            kind: 3,
            start_time_unix_nano: 10,
            end_time_unix_nano: 25,
            status: Some(Status {
                code: 2,
                ..Default::default()
            }),
            attributes: vec![
                kv(
                    "peer.service",
                    any_value::Value::StringValue("bank-a".into()),
                ),
                kv("retries", any_value::Value::IntValue(-3)),
                kv("ratio", any_value::Value::DoubleValue(0.5)),
            ],
            ..Default::default()
        };
        let rs = ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("payment".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span.clone(), Span::default()],
                schema_url: "s".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let t = TenantId::new("acme").unwrap();
        let batch = SpanBatch::from_resource_spans(t.clone(), vec![rs]);
        let again = SpanBatch::from_request(t, batch.request().clone()).unwrap();
        let mut seen = Vec::new();
        again
            .for_each_span(|rs, ss, s| {
                assert_eq!(rs.service, Some("payment"));
                assert_eq!(ss.schema_url, "s");
                seen.push((
                    s.valid_trace_id(),
                    s.name.to_string(),
                    s.kind,
                    s.end_ns - s.start_ns.min(s.end_ns),
                    s.status_code,
                    s.valid_parent_id(),
                    s.attribute("peer.service").unwrap(),
                    s.attribute("retries").unwrap(),
                    s.attribute("ratio").unwrap().map(|v| v.to_text()),
                ));
            })
            .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0],
            (
                Some([7; 16]),
                "charge".to_string(),
                3,
                15,
                2,
                Some([2; 8]),
                Some(AttributeValue::Str("bank-a")),
                Some(AttributeValue::Int(-3)),
                Some("0.5".to_string()),
            )
        );
        assert_eq!(seen[1].0, None);
        assert_eq!(seen[1].5, None);
        assert_eq!(
            Span::decode(SpanView::parse(&span.encode_to_vec()).unwrap().raw).unwrap(),
            span
        );
    }

    fn sample_request() -> Vec<u8> {
        let span = |n: u8| Span {
            trace_id: vec![n; 16],
            span_id: vec![n; 8],
            name: format!("op{n}"),
            attributes: vec![
                kv("a", any_value::Value::StringValue("x".into())),
                kv("b", any_value::Value::BoolValue(true)),
            ],
            status: Some(Status::default()),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span(1), span(2)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    proptest::proptest! {
        // What validation lets through must decode with prost, and its views must read.
        #[test]
        fn validated_means_decodable(
            edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY), 1..4),
            cut in 0usize..400,
        ) {
            let mut req = sample_request();
            for (at, byte) in edits {
                let at = at % req.len();
                req[at] = byte;
            }
            req.truncate(cut.max(1).min(req.len()));
            let t = TenantId::new("acme").unwrap();
            if let Ok(batch) = SpanBatch::from_request(t, Bytes::from(req.clone())) {
                proptest::prop_assert!(ExportTraceServiceRequest::decode(req.as_slice()).is_ok());
                let read = batch.for_each_span(|_, _, _| {});
                proptest::prop_assert!(read.is_ok());
            }
        }
    }

    #[test]
    fn refuses_what_would_not_decode() {
        let t = TenantId::new("acme").unwrap();
        assert!(SpanBatch::from_request(t.clone(), Bytes::from_static(b"\x0a\x05ab")).is_err());
        let e = SpanBatch::from_request(t, Bytes::from_static(b"\x0a\x02\x08\x01")).unwrap_err();
        assert_eq!(e.0, "ResourceSpans.resource: wrong wire type 0");
    }
}
