//! The official OpenTelemetry Python SDK exports to Taishan unchanged, over OTLP/HTTP and
//! OTLP/gRPC, with cumulative and delta temporality; the series follow the
//! OpenTelemetry-to-Prometheus conventions and tenants stay apart.

mod support;

use support::{result, run_test_python, Taishan};

fn export(protocol: &str, endpoint: &str, tenant: &str, temporality: &str) {
    run_test_python(
        "otel/export_metrics.py",
        &[protocol, endpoint, tenant, temporality],
    );
}

fn value(t: &Taishan, tenant: &str, q: &str) -> Option<String> {
    let a = t.query(Some(tenant), q, None);
    result(&a)
        .first()
        .and_then(|s| s["value"][1].as_str().map(str::to_string))
}

#[test]
fn python_sdk_metrics_over_http_and_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let t = Taishan::start(&dir.path().join("d"), "");
    export("http", &t.otlp_http, "bank-http", "cumulative");
    export(
        "grpc",
        &format!("http://{}", t.otlp_grpc),
        "bank-grpc",
        "delta",
    );

    for tenant in ["bank-http", "bank-grpc"] {
        let sel = "{job=\"bank/loan-service\", instance=\"loan-1\"";
        // Counter: `{loan}` carries no unit, monotonic sums end in _total; 3 + 4 for cash,
        // whether the SDK sent cumulative values or deltas.
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("loans_granted_total{sel}, product=\"cash\"}}")
            )
            .as_deref(),
            Some("7"),
            "{tenant}"
        );
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("loans_granted_total{sel}, product=\"auto\"}}")
            )
            .as_deref(),
            Some("2")
        );
        // Histogram in seconds: classic buckets, cumulative, with _sum and _count.
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("payment_duration_seconds_count{sel}}}")
            )
            .as_deref(),
            Some("6"),
            "{tenant}"
        );
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("payment_duration_seconds_bucket{sel}, le=\"+Inf\"}}")
            )
            .as_deref(),
            Some("6")
        );
        // The SDK's default bounds are 0, 5, 10, 25, ...: all but 7.0 are at most 5.
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("payment_duration_seconds_bucket{sel}, le=\"5\"}}")
            )
            .as_deref(),
            Some("5"),
            "{tenant}"
        );
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("payment_duration_seconds_bucket{sel}, le=\"0\"}}")
            )
            .as_deref(),
            Some("0")
        );
        let sum: f64 = value(&t, tenant, &format!("payment_duration_seconds_sum{sel}}}"))
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 7.644).abs() < 1e-9, "{sum}");
        // A non-monotonic sum in bytes: a gauge with the unit suffix.
        assert_eq!(
            value(
                &t,
                tenant,
                &format!("money_in_flight_bytes{sel}, currency=\"CNY\"}}")
            )
            .as_deref(),
            Some("60")
        );
        // The other resource attributes go to target_info.
        assert_eq!(
            value(&t, tenant, "target_info{deployment_environment=\"test\"}").as_deref(),
            Some("1")
        );
        // PromQL works on them like on any series.
        let q = "histogram_quantile(0.5, sum by (le) (payment_duration_seconds_bucket))";
        assert!(value(&t, tenant, q).is_some(), "{tenant}: {q}");
    }
    // Tenants are apart.
    assert!(result(&t.query(None, "loans_granted_total", None)).is_empty());
}
