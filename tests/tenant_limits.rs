//! Per-tenant limits over HTTP: a series over a label limit is refused by name while the
//! rest of the request is stored; a tenant over its rate gets 429 with `Retry-After` and
//! the other tenant is not held back; each refusal is counted in Taishan's own metrics.

mod support;

use support::{client, encode_remote_write, result, Taishan};

fn write(
    t: &Taishan,
    tenant: &str,
    series: &[support::SeriesSpec<'_>],
) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/api/v1/write", t.base))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Scope-OrgID", tenant)
        .body(encode_remote_write(series))
        .send()
        .unwrap()
}

#[test]
fn limits_refuse_by_name_and_hold_back_only_the_tenant_over_them() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(
        &dir.path().join("d"),
        "ingest:\n  limits:\n    max_labels_per_series: 5\n    samples_per_second: 100\n    burst_samples: 200\n",
    );
    let now = 1_700_000_000_000;
    let wide: Vec<(String, String)> = (0..6).map(|i| (format!("l{i}"), "v".into())).collect();
    let mut wide_labels: Vec<(&str, &str)> =
        wide.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    wide_labels.push(("__name__", "too_wide"));
    let answer = write(
        &t,
        "bank-a",
        &[
            (vec![("__name__", "fine")], vec![(now, 1.0)]),
            (wide_labels, vec![(now, 1.0)]),
        ],
    );
    assert_eq!(answer.status(), 400);
    let why = answer.text().unwrap();
    assert!(
        why.contains("too_wide") && why.contains("ingest.limits.max_labels_per_series (5)"),
        "{why}"
    );
    let fine = t.query(Some("bank-a"), "fine", Some(now as f64 / 1000.0));
    assert_eq!(
        result(&fine).len(),
        1,
        "the series within the limits is stored"
    );

    // 200 samples of burst: the first request passes, the next is refused whole.
    let many: Vec<(i64, f64)> = (0..150).map(|i| (now + i * 1000, 1.0)).collect();
    assert_eq!(
        write(&t, "bank-a", &[(vec![("__name__", "flood")], many.clone())]).status(),
        204
    );
    let refused = write(
        &t,
        "bank-a",
        &[(vec![("__name__", "flood2")], many.clone())],
    );
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    let why = refused.text().unwrap();
    assert!(
        why.contains("bank-a") && why.contains("ingest.limits.samples_per_second"),
        "{why}"
    );
    let nothing = t.query(Some("bank-a"), "flood2", Some(now as f64 / 1000.0 + 100.0));
    assert!(
        result(&nothing).is_empty(),
        "a refused request stores nothing"
    );
    // Another tenant has its own bucket.
    assert_eq!(
        write(&t, "bank-b", &[(vec![("__name__", "flood")], many)]).status(),
        204
    );

    let own = client()
        .get(format!("{}/metrics", t.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for reason in ["rate_limited", "samples_refused"] {
        assert!(
            own.lines()
                .any(|l| l.starts_with("taishan_ingest_requests_refused_total")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "no {reason} refusal counted"
        );
    }
}
