//! The log store through its public API: search filters, paging newest first, trace links,
//! reopening, retention, tenants.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use taishan_core::TenantId;
use taishan_store::{LogQuery, LogStore, LogStoreOptions};

const T0: u64 = 1_700_000_000_000_000_000;
const S: u64 = 1_000_000_000;

fn text(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    })
}

fn batch(service: &str, lines: &[(u64, i32, &str, Option<u8>)]) -> Vec<ResourceLogs> {
    vec![ResourceLogs {
        resource: Some(Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: text(service),
                ..Default::default()
            }],
            ..Default::default()
        }),
        scope_logs: vec![ScopeLogs {
            log_records: lines
                .iter()
                .map(|&(t, sev, body, trace)| LogRecord {
                    time_unix_nano: T0 + t * S,
                    severity_number: sev,
                    severity_text: if sev >= 17 {
                        "ERROR".into()
                    } else {
                        "INFO".into()
                    },
                    body: text(body),
                    attributes: vec![KeyValue {
                        key: "order.id".into(),
                        value: text(&format!("o{t}")),
                        ..Default::default()
                    }],
                    trace_id: trace.map(|b| vec![b; 16]).unwrap_or_default(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

fn open(dir: &std::path::Path) -> LogStore {
    LogStore::open(LogStoreOptions {
        dir: dir.to_path_buf(),
        retention: Duration::from_secs(3600),
        retention_bytes: 0,
        segment_bytes: 4096,
    })
    .unwrap()
}

fn all() -> LogQuery {
    LogQuery {
        start_ns: T0,
        end_ns: T0 + 1000 * S,
        ..LogQuery::default()
    }
}

#[test]
fn search_filters_pages_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t = TenantId::default();
    let store = open(dir.path());
    store
        .append(
            &t,
            batch(
                "payment",
                &[
                    (1, 9, "charge started", Some(7)),
                    (3, 17, "bank timeout after 30s", Some(7)),
                ],
            ),
        )
        .unwrap();
    store
        .append(
            &t,
            batch(
                "loan",
                &[
                    (2, 9, "loan granted", None),
                    (4, 13, "slow risk check", Some(8)),
                ],
            ),
        )
        .unwrap();

    let page = store.search(&t, &all()).unwrap();
    let bodies: Vec<&str> = page.lines.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "slow risk check",
            "bank timeout after 30s",
            "loan granted",
            "charge started"
        ]
    );
    assert_eq!(page.next, None);

    let q = |f: &dyn Fn(&mut LogQuery)| {
        let mut q = all();
        f(&mut q);
        store
            .search(&t, &q)
            .unwrap()
            .lines
            .into_iter()
            .map(|l| l.body)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(&|q| q.service = Some("loan".into())),
        ["slow risk check", "loan granted"]
    );
    assert_eq!(
        q(&|q| q.min_severity = Some(17)),
        ["bank timeout after 30s"]
    );
    assert_eq!(
        q(&|q| q.contains = Some("timeout".into())),
        ["bank timeout after 30s"]
    );
    assert_eq!(
        q(&|q| q.regex = Some(regex::Regex::new(r"after \d+s").unwrap())),
        ["bank timeout after 30s"]
    );
    // Regexes whose required literals rule batches out still find every match.
    assert_eq!(
        q(&|q| q.regex = Some(regex::Regex::new(r"(?i)(TIMEOUT after|loan GRANTED)").unwrap())),
        ["bank timeout after 30s", "loan granted"]
    );
    assert_eq!(
        q(&|q| q.regex = Some(regex::Regex::new(r"refused by \w+").unwrap())),
        Vec::<String>::new()
    );
    assert_eq!(
        q(&|q| q.attributes = vec![("order.id".into(), "o2".into())]),
        ["loan granted"]
    );
    assert_eq!(
        q(&|q| q.trace_id = Some([7; 16])),
        ["bank timeout after 30s", "charge started"]
    );
    assert_eq!(
        q(&|q| {
            q.start_ns = T0 + 2 * S;
            q.end_ns = T0 + 3 * S;
        }),
        ["bank timeout after 30s", "loan granted"]
    );

    // Pages of two, newest first, no line twice.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .search(
                &t,
                &LogQuery {
                    limit: 2,
                    after,
                    ..all()
                },
            )
            .unwrap();
        seen.extend(page.lines.iter().map(|l| l.body.clone()));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "slow risk check",
            "bank timeout after 30s",
            "loan granted",
            "charge started"
        ]
    );

    assert!(store
        .search(&TenantId::new("bank-b").unwrap(), &all())
        .unwrap()
        .lines
        .is_empty());
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        store.search(&t, &all()).unwrap().lines.len(),
        4,
        "durable across reopen"
    );
}

#[test]
fn retention_drops_old_records() {
    let dir = tempfile::tempdir().unwrap();
    let t = TenantId::default();
    let store = open(dir.path());
    for i in 0..100 {
        store
            .append(
                &t,
                batch(
                    "svc",
                    &[(i, 9, "a line long enough to fill segments quickly", None)],
                ),
            )
            .unwrap();
    }
    let before = store.record_count();
    assert!(
        store
            .apply_retention((T0 / 1_000_000) as i64 + 10 * 3_600_000)
            .unwrap()
            > 0
    );
    assert!(store.record_count() < before);
}
