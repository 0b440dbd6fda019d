//! The trace store through its public API: assembling traces from spans that arrive out of
//! order, late and twice; search; reopening; retention; tenants.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};
use taishan_core::TenantId;
use taishan_store::traces::{hex, parse_trace_id};
use taishan_store::{TraceQuery, TraceStore, TraceStoreOptions};

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

struct S<'a> {
    trace: u8,
    id: u8,
    parent: u8,
    name: &'a str,
    start_ms: u64,
    dur_ms: u64,
    error: bool,
    attrs: Vec<KeyValue>,
}

fn span(s: &S) -> Span {
    Span {
        trace_id: vec![s.trace; 16],
        span_id: vec![s.id; 8],
        parent_span_id: if s.parent == 0 {
            Vec::new()
        } else {
            vec![s.parent; 8]
        },
        name: s.name.into(),
        start_time_unix_nano: T0 + s.start_ms * MS,
        end_time_unix_nano: T0 + (s.start_ms + s.dur_ms) * MS,
        attributes: s.attrs.clone(),
        status: s.error.then(|| Status {
            code: status::StatusCode::Error as i32,
            message: "boom".into(),
        }),
        ..Default::default()
    }
}

fn export(service: &str, spans: &[S]) -> Vec<ResourceSpans> {
    vec![ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", service)],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans: spans.iter().map(span).collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

fn open(dir: &std::path::Path) -> TraceStore {
    TraceStore::open(TraceStoreOptions {
        dir: dir.to_path_buf(),
        retention: Duration::from_secs(3600),
        retention_bytes: 0,
        segment_bytes: 4096,
    })
    .unwrap()
}

fn s(trace: u8, id: u8, parent: u8, name: &str, start_ms: u64, dur_ms: u64) -> S<'_> {
    S {
        trace,
        id,
        parent,
        name,
        start_ms,
        dur_ms,
        error: false,
        attrs: Vec::new(),
    }
}

fn query(start_ms: i64, end_ms: i64) -> TraceQuery {
    TraceQuery {
        start_ms,
        end_ms,
        limit: 10,
        ..TraceQuery::default()
    }
}

#[test]
fn traces_assemble_search_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t = TenantId::default();
    let store = open(dir.path());
    // The child span arrives first, the root later, then the child again (a retry).
    store
        .append(&t, export("payment", &[s(1, 2, 1, "charge", 10, 50)]))
        .unwrap();
    let mut root = s(1, 1, 0, "POST /loans", 0, 100);
    root.attrs = vec![kv("http.route", "/loans")];
    store.append(&t, export("gateway", &[root])).unwrap();
    store
        .append(&t, export("payment", &[s(1, 2, 1, "charge", 10, 50)]))
        .unwrap();
    let mut failing = s(2, 5, 0, "GET /balance", 500, 5);
    failing.error = true;
    store.append(&t, export("gateway", &[failing])).unwrap();

    let id = parse_trace_id(&hex(&[1; 16])).unwrap();
    let trace = store.trace(&t, &id).unwrap().expect("trace 1");
    let spans: usize = trace
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(spans, 2, "the duplicate is delivered once");
    assert_eq!(trace.len(), 2, "one resource per service");

    let t0 = (T0 / MS) as i64;
    let all = store.search(&t, &query(t0 - 1000, t0 + 1000)).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].root_name, "GET /balance", "newest first");
    assert_eq!(all[1].root_service, "gateway");
    assert_eq!(all[1].services, vec!["gateway", "payment"]);
    assert_eq!(all[1].span_count, 2);
    assert!((all[1].duration_ms - 100.0).abs() < 1e-9);

    let by_service = store
        .search(
            &t,
            &TraceQuery {
                service: Some("payment".into()),
                ..query(t0 - 1000, t0 + 1000)
            },
        )
        .unwrap();
    assert_eq!(by_service.len(), 1);
    let errors = store
        .search(
            &t,
            &TraceQuery {
                error: Some(true),
                ..query(t0 - 1000, t0 + 1000)
            },
        )
        .unwrap();
    assert_eq!(errors[0].error_count, 1);
    let slow = store
        .search(
            &t,
            &TraceQuery {
                min_duration_ns: Some(60 * MS),
                ..query(t0 - 1000, t0 + 1000)
            },
        )
        .unwrap();
    assert_eq!(slow.len(), 1);
    let by_attr = store
        .search(
            &t,
            &TraceQuery {
                attributes: vec![("http.route".into(), "/loans".into())],
                ..query(t0 - 1000, t0 + 1000)
            },
        )
        .unwrap();
    assert_eq!(by_attr.len(), 1);
    let none = store
        .search(
            &t,
            &TraceQuery {
                attributes: vec![("http.route".into(), "/other".into())],
                ..query(t0 - 1000, t0 + 1000)
            },
        )
        .unwrap();
    assert!(none.is_empty());
    assert!(store
        .search(&t, &query(t0 + 10_000, t0 + 20_000))
        .unwrap()
        .is_empty());
    assert_eq!(
        store.services(&t),
        vec![
            (
                "gateway".to_string(),
                vec!["GET /balance".to_string(), "POST /loans".to_string()]
            ),
            ("payment".to_string(), vec!["charge".to_string()]),
        ]
    );
    // Another tenant sees nothing.
    let other = TenantId::new("bank-b").unwrap();
    assert!(store.trace(&other, &id).unwrap().is_none());
    assert!(store
        .search(&other, &query(t0 - 1000, t0 + 1000))
        .unwrap()
        .is_empty());

    // Reopened (as after kill -9: every append was synced), everything is there.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.trace_count(), 2);
    let again = store.trace(&t, &id).unwrap().unwrap();
    assert_eq!(again, trace);
}

#[test]
fn spans_with_bad_ids_are_refused_and_retention_forgets_old_traces() {
    let dir = tempfile::tempdir().unwrap();
    let t = TenantId::default();
    let store = open(dir.path());
    let mut bad = export("svc", &[s(3, 1, 0, "ok", 0, 1)]);
    bad[0].scope_spans[0].spans.push(Span {
        trace_id: vec![1, 2, 3],
        span_id: vec![1; 8],
        ..Default::default()
    });
    let (r, _) = store.append(&t, bad).unwrap();
    assert_eq!((r.accepted, r.rejected), (1, 1));
    // Enough traffic to fill several 4 KiB segments, all from long ago.
    for i in 0..200u8 {
        store
            .append(
                &t,
                export("svc", &[s(i.wrapping_add(10), 1, 0, "op", u64::from(i), 1)]),
            )
            .unwrap();
    }
    let before = store.trace_count();
    let now = (T0 / MS) as i64 + 10 * 3_600_000;
    assert!(store.apply_retention(now).unwrap() > 0);
    assert!(
        store.trace_count() < before,
        "old traces are forgotten with their segments"
    );
}
