//! The converter's unit tests: each OTLP shape into Prometheus series.

use super::*;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, summary_data_point::ValueAtQuantile, Metric,
    ResourceMetrics, ScopeMetrics, Sum, Summary,
};

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn find(c: &Converted, series: &str) -> Vec<f64> {
    c.series
        .iter()
        .find(|s| s.labels.to_string() == series)
        .map(|s| s.samples.iter().map(|x| x.value).collect())
        .unwrap_or_else(|| {
            panic!(
                "no {series} among {:?}",
                c.series
                    .iter()
                    .map(|s| s.labels.to_string())
                    .collect::<Vec<_>>()
            )
        })
}

#[test]
fn exponential_histograms_become_cumulative_classic_buckets() {
    let p = ExponentialHistogramDataPoint {
        time_unix_nano: 1_000_000,
        count: 6,
        sum: Some(9.0),
        scale: 0,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![2, 3],
        }),
        ..Default::default()
    };
    assert_eq!(exponential_buckets(&p), vec![(0.0, 1), (2.0, 2), (4.0, 3)]);
    let m = Metric {
        name: "size".into(),
        data: Some(metric::Data::ExponentialHistogram(
            opentelemetry_proto::tonic::metrics::v1::ExponentialHistogram {
                data_points: vec![p],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            },
        )),
        ..Default::default()
    };
    let c = MetricsConverter::new().convert(&TenantId::default(), &request(vec![m]), 0);
    assert_eq!(find(&c, "size_bucket{le=\"2\"}"), vec![3.0]);
    assert_eq!(find(&c, "size_bucket{le=\"4\"}"), vec![6.0]);
    assert_eq!(find(&c, "size_bucket{le=\"+Inf\"}"), vec![6.0]);
    assert_eq!(find(&c, "size_sum{}"), vec![9.0]);
}

#[test]
fn summaries_deltas_and_missing_values() {
    let summary = Metric {
        name: "rpc.latency".into(),
        unit: "ms".into(),
        data: Some(metric::Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: 1_000_000,
                count: 10,
                sum: 55.0,
                quantile_values: vec![ValueAtQuantile {
                    quantile: 0.99,
                    value: 9.5,
                }],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let delta = |v: i64, t: u64, flags: u32| Metric {
        name: "requests".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                time_unix_nano: t,
                flags,
                value: Some(number_data_point::Value::AsInt(v)),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Delta as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let conv = MetricsConverter::new();
    let c = conv.convert(
        &TenantId::default(),
        &request(vec![summary, delta(5, 1_000_000, 0)]),
        0,
    );
    assert_eq!(
        find(&c, "rpc_latency_milliseconds{quantile=\"0.99\"}"),
        vec![9.5]
    );
    assert_eq!(find(&c, "rpc_latency_milliseconds_count{}"), vec![10.0]);
    assert_eq!(find(&c, "requests_total{}"), vec![5.0]);
    // Deltas add up across requests.
    let c = conv.convert(
        &TenantId::default(),
        &request(vec![delta(3, 2_000_000, 0)]),
        0,
    );
    assert_eq!(find(&c, "requests_total{}"), vec![8.0]);
    // A point flagged as having no recorded value is a staleness marker.
    let gone = Metric {
        name: "temperature".into(),
        data: Some(metric::Data::Gauge(
            opentelemetry_proto::tonic::metrics::v1::Gauge {
                data_points: vec![NumberDataPoint {
                    time_unix_nano: 3_000_000,
                    flags: NO_RECORDED_VALUE,
                    ..Default::default()
                }],
            },
        )),
        ..Default::default()
    };
    let c = conv.convert(&TenantId::default(), &request(vec![gone]), 0);
    assert!(taishan_core::is_stale_marker(find(&c, "temperature{}")[0]));
    // Data without a name is refused and reported.
    let c = conv.convert(
        &TenantId::default(),
        &request(vec![Metric {
            name: String::new(),
            ..delta(1, 1, 0)
        }]),
        0,
    );
    assert_eq!((c.rejected, c.series.len()), (1, 0));
}
