//! The trace store through its public API: assembling traces from spans that arrive out of
//! order, late and twice; search; reopening; retention; tenants.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};
use taishan_core::{SpanBatch, TenantId};
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

fn batch(t: &TenantId, resource_spans: Vec<ResourceSpans>) -> SpanBatch {
    SpanBatch::from_resource_spans(t.clone(), resource_spans)
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
        .append(&batch(
            &t,
            export("payment", &[s(1, 2, 1, "charge", 10, 50)]),
        ))
        .unwrap();
    let mut root = s(1, 1, 0, "POST /loans", 0, 100);
    root.attrs = vec![kv("http.route", "/loans")];
    store
        .append(&batch(&t, export("gateway", &[root])))
        .unwrap();
    store
        .append(&batch(
            &t,
            export("payment", &[s(1, 2, 1, "charge", 10, 50)]),
        ))
        .unwrap();
    let mut failing = s(2, 5, 0, "GET /balance", 500, 5);
    failing.error = true;
    store
        .append(&batch(&t, export("gateway", &[failing])))
        .unwrap();

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
    let r = store.append(&batch(&t, bad)).unwrap();
    assert_eq!((r.accepted, r.rejected), (1, 1));
    // Enough traffic to fill several 4 KiB segments, all from long ago.
    for i in 0..200u8 {
        store
            .append(&batch(
                &t,
                export("svc", &[s(i.wrapping_add(10), 1, 0, "op", u64::from(i), 1)]),
            ))
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

#[test]
fn one_export_of_many_traces_reads_back_trace_by_trace() {
    let dir = tempfile::tempdir().unwrap();
    let t = TenantId::default();
    let store = open(dir.path());
    // Two services in one export, three traces interleaved across them and two scopes.
    let mut rs = export(
        "gateway",
        &[s(1, 1, 0, "POST /loans", 0, 90), s(2, 1, 0, "GET /", 5, 10)],
    );
    rs[0].scope_spans.push(ScopeSpans {
        scope: Some(
            opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                name: "db".into(),
                ..Default::default()
            },
        ),
        spans: vec![span(&s(1, 3, 1, "SELECT", 20, 5))],
        ..Default::default()
    });
    rs.extend(export(
        "loan",
        &[s(1, 2, 1, "grant", 10, 50), s(3, 1, 0, "sweep", 30, 1)],
    ));
    let report = store.append(&batch(&t, rs)).unwrap();
    assert_eq!((report.accepted, report.rejected), (5, 0));

    let one = store.trace(&t, &[1; 16]).unwrap().expect("trace 1");
    let names: Vec<(String, Vec<String>)> = one
        .iter()
        .flat_map(|rs| {
            let service = taishan_store::traces::service_name(rs.resource.as_ref());
            rs.scope_spans.iter().map(move |ss| {
                (
                    format!(
                        "{service}/{}",
                        ss.scope.as_ref().map(|s| s.name.as_str()).unwrap_or("")
                    ),
                    ss.spans.iter().map(|s| s.name.clone()).collect(),
                )
            })
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("gateway/".to_string(), vec!["POST /loans".to_string()]),
            ("gateway/db".to_string(), vec!["SELECT".to_string()]),
            ("loan/".to_string(), vec!["grant".to_string()]),
        ]
    );
    let three = store.trace(&t, &[3; 16]).unwrap().expect("trace 3");
    assert_eq!(three.len(), 1);
    assert_eq!(three[0].scope_spans[0].spans.len(), 1);
    assert_eq!(three[0].scope_spans[0].spans[0].name, "sweep");
    // Search sees each trace on its own, and attribute search reads only its spans.
    let found = store
        .search(
            &t,
            &TraceQuery {
                service: Some("loan".into()),
                ..query(0, i64::MAX)
            },
        )
        .unwrap();
    let mut ids: Vec<String> = found.into_iter().map(|f| f.trace_id).collect();
    ids.sort();
    assert_eq!(ids, vec![hex(&[1; 16]), hex(&[3; 16])]);
    // Reopened, the index is rebuilt from the one record.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.trace_count(), 3);
    assert_eq!(
        store.trace(&t, &[2; 16]).unwrap().expect("trace 2")[0].scope_spans[0].spans[0].name,
        "GET /"
    );
}
