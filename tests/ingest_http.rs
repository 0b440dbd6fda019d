//! Ingest end to end over HTTP: remote write and Influx line protocol round trips, tenant
//! isolation, and every refusal path with its message (400, 413, 429).

mod support;

use std::io::Write;

use support::{matrix, result, Taishan};

const T: i64 = 1_700_000_000_000;

#[test]
fn remote_write_round_trips_and_tenants_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    let series = vec![
        (
            vec![("__name__", "payment_success_total"), ("channel", "bank-a")],
            vec![(T, 1.0), (T + 15_000, 2.0), (T + 30_000, 4.5)],
        ),
        (
            vec![("__name__", "payment_success_total"), ("channel", "bank-b")],
            vec![(T, 7.0)],
        ),
    ];
    assert_eq!(ts.remote_write(Some("acme"), &series), (204, String::new()));
    let answer = ts.query(
        Some("acme"),
        "payment_success_total{channel=~\"bank-.*\"}[1m]",
        Some((T + 30_000) as f64 / 1000.0),
    );
    let m = matrix(&answer);
    assert_eq!(m.len(), 2);
    assert_eq!(
        m[0].1,
        vec![
            (T, "1".into()),
            (T + 15_000, "2".into()),
            (T + 30_000, "4.5".into())
        ]
    );
    assert_eq!(m[1].1, vec![(T, "7".into())]);
    // Another tenant, and the default one, see nothing of acme's.
    assert!(result(&ts.query(
        Some("other"),
        "payment_success_total",
        Some((T + 30_000) as f64 / 1000.0)
    ))
    .is_empty());
    assert!(result(&ts.query(
        None,
        "payment_success_total",
        Some((T + 30_000) as f64 / 1000.0)
    ))
    .is_empty());
    // Instant vector with offset.
    let v = ts.query(
        Some("acme"),
        "payment_success_total{channel=\"bank-a\"} offset 15s",
        Some((T + 30_000) as f64 / 1000.0),
    );
    assert_eq!(result(&v)[0]["value"][1], "2");
}

#[test]
fn remote_write_bad_input_is_refused_whole_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    let bad = vec![
        (vec![("__name__", "ok_metric")], vec![(T, 1.0)]),
        (vec![("__name__", "bad metric")], vec![(T, 1.0)]),
    ];
    let (status, body) = ts.remote_write(None, &bad);
    assert_eq!(status, 400);
    assert_eq!(body, "timeseries[1]: invalid metric name \"bad metric\": names must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    assert!(
        result(&ts.query(None, "ok_metric", Some(T as f64 / 1000.0))).is_empty(),
        "nothing of a refused batch is stored"
    );
    let resp = support::client()
        .post(format!("{}/api/v1/write", ts.base))
        .body("plain text")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp
        .text()
        .unwrap()
        .starts_with("body is not snappy block-compressed"));
    let (status, body) = ts.remote_write(Some("no/slashes"), &bad[..1]);
    assert_eq!((status, body.as_str()), (400, "invalid X-Scope-OrgID header: tenant id contains '/'; allowed are letters, digits and !-_.*'()"));
    // Out-of-order samples: the rest is stored, the refusal explained.
    assert_eq!(
        ts.remote_write(None, &[(vec![("__name__", "m")], vec![(T + 10, 1.0)])])
            .0,
        204
    );
    let (status, body) = ts.remote_write(
        None,
        &[(vec![("__name__", "m")], vec![(T, 1.0), (T + 20, 2.0)])],
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        format!("stored 1 samples; refused 1: 1 out_of_order (e.g. m{{}} @ {T})")
    );
}

#[test]
fn line_protocol_round_trips_v1_and_v2_with_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    let body = format!(
        "loans,product=cash granted=3i,amount=1500.5 {}\nloans,product=cash granted=4i {}\n",
        T * 1_000_000,
        (T + 60_000) * 1_000_000
    );
    assert_eq!(
        ts.influx("/api/v2/write?org=o&bucket=b", body.clone(), &[]),
        (204, String::new())
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("ledger,book=main balance=10 {}", T / 1000).as_bytes())
        .unwrap();
    let (status, _) = ts.influx(
        "/write?db=x&precision=s",
        gz.finish().unwrap(),
        &[("Content-Encoding", "gzip"), ("X-Scope-OrgID", "bank-b")],
    );
    assert_eq!(status, 204);
    let m = matrix(&ts.query(
        None,
        "loans_granted[5m]",
        Some((T + 60_000) as f64 / 1000.0),
    ));
    assert_eq!(
        m,
        vec![(
            "{\"__name__\":\"loans_granted\",\"product\":\"cash\"}".to_string(),
            vec![(T, "3".into()), (T + 60_000, "4".into())]
        )]
    );
    let v = ts.query(None, "loans_amount", Some(T as f64 / 1000.0));
    assert_eq!(result(&v)[0]["value"][1], "1500.5");
    let v = ts.query(Some("bank-b"), "ledger_balance", Some(T as f64 / 1000.0));
    assert_eq!(result(&v)[0]["metric"]["book"], "main");
}

#[test]
fn line_protocol_errors_name_the_line_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    let body = format!("good v=1 {T}000000\nbad v=oops {T}000000\n");
    let (status, text) = ts.influx("/api/v2/write?bucket=b", body, &[]);
    assert_eq!(status, 400);
    assert_eq!(text, "{\"code\":\"invalid\",\"message\":\"line 2: field \\\"v\\\": invalid number \\\"oops\\\"\"}");
    assert!(result(&ts.query(None, "good_v", Some(T as f64 / 1000.0))).is_empty());
    let (status, text) = ts.influx("/api/v2/write", "m v=1", &[]);
    assert_eq!(status, 400);
    assert!(
        text.contains("missing the bucket query parameter"),
        "{text}"
    );
    let (status, text) = ts.influx("/api/v2/write?bucket=b&precision=fortnights", "m v=1", &[]);
    assert_eq!(status, 400);
    assert!(
        text.contains("invalid precision \\\"fortnights\\\""),
        "{text}"
    );
    let (status, _) = ts.influx(
        "/api/v2/write?bucket=b",
        "m v=1",
        &[("Content-Encoding", "br")],
    );
    assert_eq!(status, 415);
}

#[test]
fn oversized_bodies_get_413_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "ingest:\n  max_body_size: 2KiB\n");
    let big = "m v=1\n".repeat(1000);
    let (status, text) = ts.influx("/api/v2/write?bucket=b", big.clone(), &[]);
    assert_eq!(status, 413);
    assert!(
        text.contains("request body exceeds the limit of 2048 bytes"),
        "{text}"
    );
    // A small gzip body that inflates past the limit is refused too.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(big.as_bytes()).unwrap();
    let (status, _) = ts.influx(
        "/api/v2/write?bucket=b",
        gz.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(status, 413);
    let many: Vec<support::SeriesSpec<'_>> = (0..200)
        .map(|i| (vec![("__name__", "m")], vec![(T + i, 1.0)]))
        .collect();
    assert_eq!(ts.remote_write(None, &many).0, 413);
    let metrics = ts.metrics();
    assert!(
        metrics.contains(
            "taishan_ingest_requests_refused_total{path=\"influx_v2\",reason=\"too_large\"} 2"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "taishan_ingest_requests_refused_total{path=\"remote_write\",reason=\"too_large\"} 1"
        ),
        "{metrics}"
    );
}

#[test]
fn saturated_storage_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(
        &dir.path().join("d"),
        "ingest:\n  queue_capacity: 1\n  retry_after: 3s\n",
    );
    // Many concurrent writes of new series: the single-slot queue must overflow.
    let bodies: Vec<Vec<u8>> = (0..24)
        .map(|k| {
            let names: Vec<String> = (0..4000).map(|i| format!("s{k}_{i}")).collect();
            let series: Vec<support::SeriesSpec<'_>> = names
                .iter()
                .map(|n| (vec![("__name__", "m"), ("id", n.as_str())], vec![(T, 1.0)]))
                .collect();
            support::encode_remote_write(&series)
        })
        .collect();
    let url = format!("{}/api/v1/write", ts.base);
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let url = url.clone();
            std::thread::spawn(move || {
                let r = support::client()
                    .post(url)
                    .header("Content-Encoding", "snappy")
                    .body(b)
                    .send()
                    .unwrap();
                let retry = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), retry, r.text().unwrap())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert!(
        !refused.is_empty(),
        "no 429 among {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(refused[0].1.as_deref(), Some("3"));
    assert_eq!(refused[0].2, "ingest queue is full; retry after 3s");
    assert!(results.iter().all(|r| r.0 == 204 || r.0 == 429));
    let metrics = ts.metrics();
    let line = format!(
        "taishan_ingest_requests_refused_total{{path=\"remote_write\",reason=\"overloaded\"}} {}",
        refused.len()
    );
    assert!(metrics.contains(&line), "{line} missing from {metrics}");
}
