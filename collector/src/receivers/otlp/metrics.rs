//! OTLP metrics into Prometheus series: gauges, sums (cumulative and delta), histograms
//! (explicit and exponential, to classic `_bucket`/`_sum`/`_count`) and summaries, with
//! the OpenTelemetry-to-Prometheus naming conventions; `service.name` and
//! `service.instance.id` become `job` and `instance`, other resource attributes a
//! `target_info` series.
//!
//! Prometheus series are cumulative, so delta temporality is accumulated into running
//! totals, per tenant and series, in a bounded table that forgets idle series ([`super::delta`]).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point, metric, number_data_point, AggregationTemporality,
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
};
use taishan_core::{SeriesSamples, TenantId, METRIC_NAME};

use super::delta::{DeltaTotals, DELTA_SERIES_TTL, MAX_DELTA_SERIES};
use super::naming::{metric_name, Shape};
pub use super::series::any_to_string;
use super::series::{attribute_pairs, Builder, ResourceLabels};

const NO_RECORDED_VALUE: u32 = 1;

/// The result of converting one export request.
#[derive(Debug, Default)]
pub struct Converted {
    /// Series with their samples.
    pub series: Vec<SeriesSamples>,
    /// Data points that could not be converted.
    pub rejected: i64,
    /// Why, for the first few.
    pub errors: Vec<String>,
}

impl Converted {
    pub(super) fn reject(&mut self, points: usize, why: String) {
        self.rejected += points as i64;
        if self.errors.len() < 3 {
            self.errors.push(why);
        }
    }
}

/// Converts OTLP metrics; keeps the running totals delta temporality needs.
#[derive(Debug, Default)]
pub struct MetricsConverter {
    deltas: DeltaTotals,
}

/// Whose points are being converted, and when.
#[derive(Clone, Copy)]
struct Export<'a> {
    tenant: &'a TenantId,
    now_ms: i64,
}

/// Where a point's value comes from.
enum Temporality {
    Cumulative,
    Delta,
}

impl MetricsConverter {
    /// A converter with no running totals.
    pub fn new() -> Self {
        Self::default()
    }

    /// A converter whose delta table forgets series idle for `ttl_ms` and holds at most
    /// `max_series`.
    pub fn with_delta_limits(ttl_ms: i64, max_series: usize) -> Self {
        Self {
            deltas: DeltaTotals::new(ttl_ms, max_series),
        }
    }

    /// The running totals of delta series.
    pub fn deltas(&self) -> &DeltaTotals {
        &self.deltas
    }

    /// Converts `req` for `tenant`; `now_ms` stands in for missing timestamps.
    pub fn convert(
        &self,
        tenant: &TenantId,
        req: &ExportMetricsServiceRequest,
        now_ms: i64,
    ) -> Converted {
        let mut out = Converted::default();
        let mut b = Builder::default();
        let export = Export { tenant, now_ms };
        for rm in &req.resource_metrics {
            let attrs = rm
                .resource
                .as_ref()
                .map(|r| r.attributes.as_slice())
                .unwrap_or(&[]);
            let resource = ResourceLabels::of(attrs);
            let mut latest = i64::MIN;
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let Some(data) = &m.data else {
                        out.reject(1, format!("metric {:?} has no data", m.name));
                        continue;
                    };
                    if m.name.is_empty() {
                        out.reject(points_of(data), "a metric without a name".into());
                        continue;
                    }
                    self.convert_metric(
                        export,
                        &resource,
                        &m.name,
                        &m.unit,
                        data,
                        &mut b,
                        &mut out,
                        &mut latest,
                    );
                }
            }
            if !resource.info.is_empty() && latest != i64::MIN {
                let mut pairs = resource.base.clone();
                pairs.extend(resource.info.iter().cloned());
                pairs.push((METRIC_NAME.to_string(), "target_info".to_string()));
                b.push(&mut out, pairs, latest, 1.0);
            }
        }
        out.series = b.finish();
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn convert_metric(
        &self,
        export: Export<'_>,
        resource: &ResourceLabels,
        name: &str,
        unit: &str,
        data: &metric::Data,
        b: &mut Builder,
        out: &mut Converted,
        latest: &mut i64,
    ) {
        let time = |t: u64| -> i64 {
            if t == 0 {
                export.now_ms
            } else {
                i64::try_from(t / 1_000_000).unwrap_or(i64::MAX)
            }
        };
        let labels = |attributes: &[KeyValue], name: &str| -> Vec<(String, String)> {
            let mut pairs = resource.base.clone();
            pairs.extend(attribute_pairs(attributes));
            pairs.push((METRIC_NAME.to_string(), name.to_string()));
            pairs
        };
        match data {
            metric::Data::Gauge(g) => {
                let n = metric_name(name, unit, Shape::Gauge);
                for p in &g.data_points {
                    let t = time(p.time_unix_nano);
                    *latest = (*latest).max(t);
                    b.push(out, labels(&p.attributes, &n), t, number(p));
                }
            }
            metric::Data::Sum(s) => {
                let shape = if s.is_monotonic {
                    Shape::Counter
                } else {
                    Shape::Gauge
                };
                let n = metric_name(name, unit, shape);
                let temporality = temporality(s.aggregation_temporality);
                for p in &s.data_points {
                    let t = time(p.time_unix_nano);
                    *latest = (*latest).max(t);
                    let pairs = labels(&p.attributes, &n);
                    let v = number(p);
                    match temporality {
                        Some(Temporality::Cumulative) => b.push(out, pairs, t, v),
                        Some(Temporality::Delta) => self.push_delta(export, b, out, pairs, t, v),
                        None => {
                            out.reject(1, format!("sum {name:?} has no aggregation temporality"))
                        }
                    }
                }
            }
            metric::Data::Histogram(_) | metric::Data::ExponentialHistogram(_) => {
                let (temporality, points) = distribution_points(data);
                let n = metric_name(name, unit, Shape::Distribution);
                for d in points {
                    let t = time(d.time_unix_nano);
                    *latest = (*latest).max(t);
                    let pairs = labels(d.attributes, &n);
                    self.push_distribution(export, b, out, &temporality, pairs, t, d, name);
                }
            }
            metric::Data::Summary(s) => {
                let n = metric_name(name, unit, Shape::Distribution);
                for p in &s.data_points {
                    let t = time(p.time_unix_nano);
                    *latest = (*latest).max(t);
                    push_summary(b, out, labels(&p.attributes, &n), t, p);
                }
            }
        }
    }

    /// Adds a delta to the series' running total and writes the total.
    fn push_delta(
        &self,
        export: Export<'_>,
        b: &mut Builder,
        out: &mut Converted,
        pairs: Vec<(String, String)>,
        t: i64,
        delta: f64,
    ) {
        let Some(labels) = b.labels(out, &pairs) else {
            return;
        };
        if delta.to_bits() == taishan_core::STALE_NAN_BITS {
            b.push_labels(labels, t, delta);
            return;
        }
        match self.deltas.add(export.tenant, &labels, delta, export.now_ms) {
            Some(total) => b.push_labels(labels, t, total),
            None => out.reject(
                1,
                format!(
                    "too many delta series to accumulate (limit {MAX_DELTA_SERIES}; idle ones are forgotten after {})",
                    humantime::format_duration(DELTA_SERIES_TTL)
                ),
            ),
        }
    }

    /// A histogram's `_bucket` (cumulative, with `le`), `_sum` and `_count` series.
    #[allow(clippy::too_many_arguments)]
    fn push_distribution(
        &self,
        export: Export<'_>,
        b: &mut Builder,
        out: &mut Converted,
        temporality: &Option<Temporality>,
        pairs: Vec<(String, String)>,
        t: i64,
        point: DistributionPoint<'_>,
        name: &str,
    ) {
        let Some(temporality) = temporality else {
            out.reject(
                1,
                format!("histogram {name:?} has no aggregation temporality"),
            );
            return;
        };
        let buckets = match point.buckets {
            Ok(b) => b,
            Err(why) => {
                out.reject(1, format!("histogram {name:?}: {why}"));
                return;
            }
        };
        let (flags, sum, count) = (point.flags, point.sum, point.count);
        let base = pairs
            .iter()
            .find(|(k, _)| k == METRIC_NAME)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let stale = flags & NO_RECORDED_VALUE != 0;
        let mut series: Vec<(Vec<(String, String)>, f64)> = Vec::with_capacity(buckets.len() + 2);
        let with = |suffix: &str, extra: Option<(&str, String)>| {
            let mut p: Vec<(String, String)> = pairs
                .iter()
                .filter(|(k, _)| k != METRIC_NAME)
                .cloned()
                .collect();
            p.push((METRIC_NAME.to_string(), format!("{base}{suffix}")));
            if let Some((k, v)) = extra {
                p.push((k.to_string(), v));
            }
            p
        };
        let mut cumulative = 0u64;
        for &(le, c) in &buckets {
            cumulative += c;
            series.push((
                with("_bucket", Some(("le", format_bound(le)))),
                cumulative as f64,
            ));
        }
        series.push((
            with("_bucket", Some(("le", "+Inf".to_string()))),
            count as f64,
        ));
        if let Some(s) = sum {
            series.push((with("_sum", None), s));
        }
        series.push((with("_count", None), count as f64));
        for (p, v) in series {
            if stale {
                b.push(out, p, t, f64::from_bits(taishan_core::STALE_NAN_BITS));
                continue;
            }
            match temporality {
                Temporality::Cumulative => b.push(out, p, t, v),
                Temporality::Delta => self.push_delta(export, b, out, p, t, v),
            }
        }
    }
}

/// What explicit and exponential histogram points have in common once their buckets are
/// classic (per-bucket counts with upper bounds).
struct DistributionPoint<'a> {
    attributes: &'a [KeyValue],
    time_unix_nano: u64,
    flags: u32,
    buckets: Result<Vec<(f64, u64)>, String>,
    sum: Option<f64>,
    count: u64,
}

/// The points of either kind of histogram, with classic buckets, and its temporality.
fn distribution_points(data: &metric::Data) -> (Option<Temporality>, Vec<DistributionPoint<'_>>) {
    match data {
        metric::Data::Histogram(h) => (
            temporality(h.aggregation_temporality),
            h.data_points
                .iter()
                .map(|p| DistributionPoint {
                    attributes: &p.attributes,
                    time_unix_nano: p.time_unix_nano,
                    flags: p.flags,
                    buckets: explicit_buckets(p),
                    sum: p.sum,
                    count: p.count,
                })
                .collect(),
        ),
        metric::Data::ExponentialHistogram(h) => (
            temporality(h.aggregation_temporality),
            h.data_points
                .iter()
                .map(|p| DistributionPoint {
                    attributes: &p.attributes,
                    time_unix_nano: p.time_unix_nano,
                    flags: p.flags,
                    buckets: Ok(exponential_buckets(p)),
                    sum: p.sum,
                    count: p.count,
                })
                .collect(),
        ),
        _ => (None, Vec::new()),
    }
}

fn temporality(t: i32) -> Option<Temporality> {
    match AggregationTemporality::try_from(t) {
        Ok(AggregationTemporality::Cumulative) => Some(Temporality::Cumulative),
        Ok(AggregationTemporality::Delta) => Some(Temporality::Delta),
        _ => None,
    }
}

fn points_of(data: &metric::Data) -> usize {
    match data {
        metric::Data::Gauge(g) => g.data_points.len(),
        metric::Data::Sum(s) => s.data_points.len(),
        metric::Data::Histogram(h) => h.data_points.len(),
        metric::Data::ExponentialHistogram(h) => h.data_points.len(),
        metric::Data::Summary(s) => s.data_points.len(),
    }
}

fn number(p: &NumberDataPoint) -> f64 {
    if p.flags & NO_RECORDED_VALUE != 0 {
        return f64::from_bits(taishan_core::STALE_NAN_BITS);
    }
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => f64::NAN,
    }
}

/// Per-bucket counts with their upper bounds (the last, unbounded bucket excluded: it is
/// the `+Inf` series, equal to the count).
fn explicit_buckets(p: &HistogramDataPoint) -> Result<Vec<(f64, u64)>, String> {
    if p.bucket_counts.is_empty() {
        return Ok(Vec::new());
    }
    if p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
        return Err(format!(
            "{} bucket counts for {} bounds (must be one more)",
            p.bucket_counts.len(),
            p.explicit_bounds.len()
        ));
    }
    Ok(p.explicit_bounds
        .iter()
        .copied()
        .zip(p.bucket_counts.iter().copied())
        .collect())
}

/// An exponential histogram as classic buckets: negative buckets (most negative first),
/// the zero bucket, then positive buckets, each with its upper bound.
fn exponential_buckets(p: &ExponentialHistogramDataPoint) -> Vec<(f64, u64)> {
    let base = 2f64.powf(2f64.powi(-p.scale));
    let mut out = Vec::new();
    let empty = exponential_histogram_data_point::Buckets::default();
    let neg = p.negative.as_ref().unwrap_or(&empty);
    // Negative bucket i holds values in [-base^(i+1), -base^i): its upper bound is -base^i.
    for (k, &c) in neg.bucket_counts.iter().enumerate().rev() {
        let i = neg.offset + k as i32;
        out.push((-base.powi(i), c));
    }
    out.push((p.zero_threshold.max(0.0), p.zero_count));
    let pos = p.positive.as_ref().unwrap_or(&empty);
    for (k, &c) in pos.bucket_counts.iter().enumerate() {
        let i = pos.offset + k as i32;
        out.push((base.powi(i + 1), c));
    }
    out
}

fn push_summary(
    b: &mut Builder,
    out: &mut Converted,
    pairs: Vec<(String, String)>,
    t: i64,
    p: &SummaryDataPoint,
) {
    let stale = p.flags & NO_RECORDED_VALUE != 0;
    let value = |v: f64| {
        if stale {
            f64::from_bits(taishan_core::STALE_NAN_BITS)
        } else {
            v
        }
    };
    let base = pairs
        .iter()
        .find(|(k, _)| k == METRIC_NAME)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let without_name: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| k != METRIC_NAME)
        .collect();
    for q in &p.quantile_values {
        let mut l = without_name.clone();
        l.push((METRIC_NAME.to_string(), base.clone()));
        l.push(("quantile".into(), format_bound(q.quantile)));
        b.push(out, l, t, value(q.value));
    }
    for (suffix, v) in [("_sum", p.sum), ("_count", p.count as f64)] {
        let mut l = without_name.clone();
        l.push((METRIC_NAME.to_string(), format!("{base}{suffix}")));
        b.push(out, l, t, value(v));
    }
}

/// A bucket bound or quantile as Prometheus writes it in a label.
fn format_bound(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
