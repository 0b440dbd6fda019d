//! The Prometheus HTTP API over real HTTP: GET and POST form, every endpoint of this
//! version, and errors in Prometheus's JSON shape.

mod support;

use serde_json::{json, Value};
use support::Taishan;

const T: i64 = 1_700_000_000_000;

fn seed(ts: &Taishan) {
    let series = vec![
        (
            vec![
                ("__name__", "loans_granted_total"),
                ("product", "cash"),
                ("region", "east"),
            ],
            vec![(T, 1.0), (T + 60_000, 2.0), (T + 120_000, 3.0)],
        ),
        (
            vec![
                ("__name__", "loans_granted_total"),
                ("product", "auto"),
                ("region", "west"),
            ],
            vec![(T, 10.0), (T + 60_000, 20.0)],
        ),
        (
            vec![("__name__", "payments_failed_total"), ("channel", "bank-a")],
            vec![(T + 60_000, 5.0)],
        ),
    ];
    assert_eq!(ts.remote_write(None, &series).0, 204);
}

fn get(ts: &Taishan, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let r = support::client()
        .get(format!("{}{path}", ts.base))
        .query(params)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

fn post_form(ts: &Taishan, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let body: String = params
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let r = support::client()
        .post(format!("{}{path}", ts.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn status_format_parse_and_exemplar_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "query:\n  timeout: 30s\n");
    seed(&ts);

    let (status, v) = get(
        &ts,
        "/api/v1/format_query",
        &[("query", "sum by(region)(rate(loans_granted_total[5m]))")],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"], "sum by (region) (rate(loans_granted_total[5m]))");

    let (status, v) = post_form(
        &ts,
        "/api/v1/parse_query",
        &[("query", "up{job=\"a\"} offset 5m")],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["type"], "vectorSelector", "{v}");
    assert_eq!(v["data"]["name"], "up", "{v}");

    let (status, v) = get(
        &ts,
        "/api/v1/query_exemplars",
        &[("query", "up"), ("start", "0"), ("end", "10")],
    );
    assert_eq!((status, v["data"].clone()), (200, json!([])));

    let (_, v) = get(&ts, "/api/v1/status/config", &[]);
    let yaml = v["data"]["yaml"].as_str().unwrap();
    assert!(yaml.contains("timeout: 30s"), "{yaml}");
    let (_, v) = get(&ts, "/api/v1/status/flags", &[]);
    assert_eq!(v["data"]["query.timeout"], "30s", "{v}");
    assert!(v["data"]["storage.tsdb.path"]
        .as_str()
        .unwrap()
        .ends_with("d"));
    let (_, v) = get(&ts, "/api/v1/status/runtimeinfo", &[]);
    assert_eq!(v["data"]["storageRetention"], "15days", "{v}");
    assert!(
        v["data"]["startTime"].as_str().unwrap().ends_with('Z'),
        "{v}"
    );

    let (_, v) = get(&ts, "/api/v1/status/tsdb", &[("limit", "1")]);
    assert_eq!(v["data"]["headStats"]["numSeries"], 3, "{v}");
    assert_eq!(
        v["data"]["seriesCountByMetricName"],
        json!([{"name": "loans_granted_total", "value": 2}])
    );
    let (status, _) = get(&ts, "/api/v1/status/tsdb", &[("limit", "none")]);
    assert_eq!(status, 400);

    // A request may ask for a shorter timeout than the configured one (the engine's own
    // tests show a timeout failing a query; here, that the parameter is read).
    let (status, v) = get(
        &ts,
        "/api/v1/query",
        &[("query", "sum(loans_granted_total)"), ("timeout", "10s")],
    );
    assert_eq!(status, 200, "{v}");
    let (status, _) = get(&ts, "/api/v1/query", &[("query", "1"), ("timeout", "soon")]);
    assert_eq!(status, 400);
}

#[test]
fn queries_report_annotations_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    seed(&ts);
    let at = ((T + 120_000) as f64 / 1000.0).to_string();
    // A rate over a name that does not look like a counter comes with Prometheus's info.
    let (status, v) = get(
        &ts,
        "/api/v1/query",
        &[
            (
                "query",
                "rate(loans_granted[5m]) or rate(loans_granted_total[5m])",
            ),
            ("time", &at),
            ("stats", "all"),
        ],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2, "{v}");
    assert!(v.get("infos").is_none(), "no info for _total names: {v}");
    assert!(
        v["data"]["stats"]["samples"]["totalQueryableSamples"]
            .as_u64()
            .unwrap()
            >= 5,
        "{v}"
    );
    assert!(
        v["data"]["stats"]["timings"]["evalTotalTime"].is_number(),
        "{v}"
    );

    let gauge = vec![(
        vec![("__name__", "queue_depth")],
        vec![(T, 3.0), (T + 60_000, 4.0)],
    )];
    assert_eq!(ts.remote_write(None, &gauge).0, 204);
    let (_, v) = get(
        &ts,
        "/api/v1/query",
        &[("query", "rate(queue_depth[5m])"), ("time", &at)],
    );
    assert!(
        v["infos"][0]
            .as_str()
            .unwrap()
            .contains("metric might not be a counter"),
        "{v}"
    );

    let (_, v) = get(
        &ts,
        "/api/v1/query",
        &[("query", "sort(payments_failed_total)"), ("time", &at)],
    );
    assert!(v.get("warnings").is_none(), "{v}");
    let (_, v) = get(
        &ts,
        "/api/v1/query_range",
        &[
            ("query", "sort(payments_failed_total)"),
            ("start", "1700000000"),
            ("end", &at),
            ("step", "60"),
        ],
    );
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("sort is ineffective for range queries"),
        "{v}"
    );
}

#[test]
fn query_endpoints_answer_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    seed(&ts);
    let at = ((T + 120_000) as f64 / 1000.0).to_string();

    // Instant query by POST form: the lookback finds the newest sample of each series.
    let (status, v) = post_form(
        &ts,
        "/api/v1/query",
        &[("query", "loans_granted_total"), ("time", &at)],
    );
    assert_eq!(status, 200);
    assert_eq!(v["data"]["resultType"], "vector");
    let mut got: Vec<(String, String)> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["product"].as_str().unwrap().to_string(),
                s["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![("auto".into(), "20".into()), ("cash".into(), "3".into())]
    );

    // Range query: one point per step, none before the first sample.
    let start = (T as f64 / 1000.0).to_string();
    let (status, v) = get(
        &ts,
        "/api/v1/query_range",
        &[
            ("query", "loans_granted_total{product=\"cash\"}"),
            ("start", &start),
            ("end", &at),
            ("step", "60s"),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(
        v["data"]["result"][0]["values"],
        json!([
            [1700000000.0, "1"],
            [1700000060.0, "2"],
            [1700000120.0, "3"]
        ])
    );

    // Scalars and strings.
    let (_, v) = get(&ts, "/api/v1/query", &[("query", "42"), ("time", "100")]);
    assert_eq!(
        v["data"],
        json!({"resultType": "scalar", "result": [100.0, "42"]})
    );

    // Series, labels and label values, with and without match[].
    let (_, v) = get(
        &ts,
        "/api/v1/series",
        &[
            ("match[]", "{region=~\"e.*\"}"),
            ("match[]", "payments_failed_total"),
        ],
    );
    assert_eq!(
        v["data"],
        json!([
            {"__name__": "loans_granted_total", "product": "cash", "region": "east"},
            {"__name__": "payments_failed_total", "channel": "bank-a"}
        ])
    );
    let (_, v) = get(&ts, "/api/v1/labels", &[]);
    assert_eq!(
        v["data"],
        json!(["__name__", "channel", "product", "region"])
    );
    let (_, v) = post_form(
        &ts,
        "/api/v1/labels",
        &[("match[]", "payments_failed_total")],
    );
    assert_eq!(v["data"], json!(["__name__", "channel"]));
    let (_, v) = get(&ts, "/api/v1/label/product/values", &[]);
    assert_eq!(v["data"], json!(["auto", "cash"]));
    let (_, v) = get(
        &ts,
        "/api/v1/label/__name__/values",
        &[("match[]", "{product=\"auto\"}")],
    );
    assert_eq!(v["data"], json!(["loans_granted_total"]));
    let (status, v) = get(&ts, "/api/v1/status/buildinfo", &[]);
    assert_eq!(status, 200);
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
}

/// Path, parameters, expected status, `errorType` and a fragment of `error`.
type ErrorCase<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str, &'a str);

#[test]
fn errors_have_prometheus_shape_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let ts = Taishan::start(&dir.path().join("d"), "");
    let cases: &[ErrorCase] = &[
        (
            "/api/v1/query",
            &[],
            400,
            "bad_data",
            "invalid parameter \"query\": missing",
        ),
        (
            "/api/v1/query",
            &[("query", "up{")],
            400,
            "bad_data",
            "invalid parameter \"query\"",
        ),
        (
            "/api/v1/query",
            &[("query", "up"), ("time", "noon")],
            400,
            "bad_data",
            "cannot parse \"noon\" to a valid timestamp",
        ),
        (
            "/api/v1/query",
            &[("query", "{job=~\".*\"}")],
            400,
            "bad_data",
            "at least one non-empty matcher",
        ),
        (
            "/api/v1/query",
            &[("query", "topk(NaN, up)")],
            422,
            "execution",
            "Parameter value is NaN",
        ),
        (
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "10"),
                ("end", "5"),
                ("step", "1"),
            ],
            400,
            "bad_data",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "0"),
                ("end", "100000"),
                ("step", "1"),
            ],
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points",
        ),
        (
            "/api/v1/query_range",
            &[
                ("query", "up[5m]"),
                ("start", "0"),
                ("end", "10"),
                ("step", "1"),
            ],
            400,
            "bad_data",
            "invalid expression type \"range vector\"",
        ),
        (
            "/api/v1/series",
            &[],
            400,
            "bad_data",
            "no match[] parameter provided",
        ),
        (
            "/api/v1/series",
            &[("match[]", "up + 1")],
            400,
            "bad_data",
            "is not a series selector",
        ),
    ];
    for (path, params, status, kind, message) in cases {
        let (got_status, v) = get(&ts, path, params);
        assert_eq!(got_status, *status, "{path} {params:?}: {v}");
        assert_eq!(v["status"], "error");
        assert_eq!(v["errorType"], *kind, "{path} {params:?}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains(message),
            "{path} {params:?}: {v}"
        );
    }
    let r = support::client()
        .get(format!("{}/api/v1/query", ts.base))
        .query(&[("query", "up")])
        .header("X-Scope-OrgID", "a b")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Failures are counted by endpoint and type for the operator.
    let metrics = ts.metrics();
    assert!(
        metrics.contains("taishan_query_errors_total{endpoint=\"query\",type=\"execution\"} 1"),
        "{metrics}"
    );
}
