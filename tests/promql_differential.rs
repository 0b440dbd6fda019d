//! Differential test against the real thing: Prometheus 2.42 (Debian's package) and
//! Taishan receive the same remote-written data; every query is asked of both with
//! `promtool query instant` and `promtool query range`, and the answers must agree (same
//! series, same timestamps, values within the promqltest runner's relative 1e-6).
//!
//! Sample times sit 7 s past each 15 s slot and queries run at :30 past the minute, so no
//! sample or subquery step lands exactly on a window edge, where Prometheus 2 (closed
//! windows) and 3 (left-open windows, which Taishan follows) differ by design.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::{which, Prometheus, SeriesSpec, Taishan};

const STEP_MS: i64 = 15_000;
const HOURS: i64 = 3;

/// Deterministic pseudo-random numbers (an LCG), so both servers get identical data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Dataset {
    names: Vec<Vec<(String, String)>>,
    samples: Vec<Vec<(i64, f64)>>,
}

impl Dataset {
    fn add(&mut self, labels: &[(&str, &str)], samples: Vec<(i64, f64)>) {
        self.names.push(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self.samples.push(samples);
    }
}

/// Counters (with a reset), classic histograms, gauges, an info metric, a series that
/// stops, one with a staleness marker, and a timestamp gauge.
fn dataset(t0: i64) -> Dataset {
    let steps = HOURS * 3600 * 1000 / STEP_MS;
    let times: Vec<i64> = (0..steps).map(|i| t0 + i * STEP_MS + 7_000).collect();
    let mut rng = Lcg(42);
    let mut d = Dataset {
        names: Vec::new(),
        samples: Vec::new(),
    };
    let stale = f64::from_bits(taishan_core::STALE_NAN_BITS);
    for job in ["api", "web"] {
        for (ii, instance) in ["i0", "i1", "i2"].into_iter().enumerate() {
            for code in ["200", "500"] {
                for method in ["get", "post"] {
                    let mut v = 1000.0 + 100.0 * ii as f64;
                    let weight = if code == "200" { 20.0 } else { 2.0 };
                    let pts = times
                        .iter()
                        .enumerate()
                        .map(|(i, &t)| {
                            v += (weight * rng.next()).round();
                            // One counter restarts half-way.
                            if job == "web"
                                && instance == "i1"
                                && code == "200"
                                && method == "get"
                                && i == times.len() / 2
                            {
                                v = 3.0;
                            }
                            (t, v)
                        })
                        .collect();
                    d.add(
                        &[
                            ("__name__", "http_requests_total"),
                            ("job", job),
                            ("instance", instance),
                            ("code", code),
                            ("method", method),
                        ],
                        pts,
                    );
                }
            }
            // A classic histogram of request durations.
            let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
            let mut counts = [0.0f64; 6];
            let mut sum = 0.0;
            let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::new(); bounds.len()];
            let mut count_pts = Vec::new();
            let mut sum_pts = Vec::new();
            for &t in &times {
                for _ in 0..5 {
                    let x = rng.next() * rng.next() * 1.5;
                    sum += x;
                    for (b, bound) in bounds.iter().enumerate() {
                        let le: f64 = bound.parse().unwrap_or(f64::INFINITY);
                        if x <= le {
                            counts[b] += 1.0;
                        }
                    }
                }
                for b in 0..bounds.len() {
                    series[b].push((t, counts[b]));
                }
                count_pts.push((t, counts[bounds.len() - 1]));
                sum_pts.push((t, sum));
            }
            for (b, bound) in bounds.iter().enumerate() {
                d.add(
                    &[
                        ("__name__", "http_request_duration_seconds_bucket"),
                        ("job", job),
                        ("instance", instance),
                        ("le", bound),
                    ],
                    std::mem::take(&mut series[b]),
                );
            }
            d.add(
                &[
                    ("__name__", "http_request_duration_seconds_count"),
                    ("job", job),
                    ("instance", instance),
                ],
                count_pts,
            );
            d.add(
                &[
                    ("__name__", "http_request_duration_seconds_sum"),
                    ("job", job),
                    ("instance", instance),
                ],
                sum_pts,
            );
            // A gauge.
            let phase = ii as f64 + if job == "api" { 0.0 } else { 0.5 };
            let pts = times
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    (
                        t,
                        5.0 + 4.0 * ((i as f64) / 40.0 + phase).sin() + rng.next(),
                    )
                })
                .collect();
            d.add(
                &[
                    ("__name__", "queue_depth"),
                    ("job", job),
                    ("instance", instance),
                ],
                pts,
            );
        }
    }
    for (instance, version) in [("i0", "1.4.2"), ("i1", "1.4.2"), ("i2", "1.5.0")] {
        d.add(
            &[
                ("__name__", "node_info"),
                ("instance", instance),
                ("version", version),
            ],
            times.iter().map(|&t| (t, 1.0)).collect(),
        );
    }
    // Stops 30 minutes before the end.
    let cut = times.len() - 120;
    d.add(
        &[("__name__", "legacy_jobs_total"), ("job", "cron")],
        times[..cut]
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as f64))
            .collect(),
    );
    // Marked stale 20 minutes before the end, then nothing.
    let stale_at = times.len() - 80;
    let mut flappy: Vec<(i64, f64)> = times[..stale_at]
        .iter()
        .map(|&t| (t, 1.0 + rng.next()))
        .collect();
    flappy.push((times[stale_at], stale));
    d.add(&[("__name__", "flappy_gauge"), ("job", "batch")], flappy);
    d.add(
        &[
            ("__name__", "batch_last_success_timestamp_seconds"),
            ("job", "batch"),
        ],
        times
            .iter()
            .map(|&t| (t, ((t - 600_000) / 1000) as f64))
            .collect(),
    );
    d
}

/// Writes the dataset to both servers in time order, 40 steps per request.
fn write_both(d: &Dataset, targets: &[&str]) {
    let steps = d.samples.iter().map(Vec::len).max().unwrap_or(0);
    let client = support::client();
    let mut from_t = i64::MIN;
    let chunk = 40;
    let mut i = 0;
    while i < steps {
        let first = d
            .samples
            .iter()
            .filter_map(|s| s.get(i))
            .map(|p| p.0)
            .min()
            .unwrap_or(i64::MAX);
        let last_i = (i + chunk).min(steps) - 1;
        let to_t = d
            .samples
            .iter()
            .filter_map(|s| s.get(last_i))
            .map(|p| p.0)
            .max()
            .unwrap_or(i64::MAX);
        from_t = from_t.max(first);
        let series: Vec<SeriesSpec<'_>> = d
            .names
            .iter()
            .zip(&d.samples)
            .filter_map(|(labels, samples)| {
                let pts: Vec<(i64, f64)> = samples
                    .iter()
                    .copied()
                    .filter(|p| p.0 >= from_t && p.0 <= to_t)
                    .collect();
                (!pts.is_empty()).then(|| {
                    (
                        labels
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect(),
                        pts,
                    )
                })
            })
            .collect();
        let body = support::encode_remote_write(&series);
        for url in targets {
            let r = client
                .post(*url)
                .header("Content-Encoding", "snappy")
                .header("Content-Type", "application/x-protobuf")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .body(body.clone())
                .send()
                .expect("remote write");
            assert!(
                r.status().is_success(),
                "{url}: {} {}",
                r.status(),
                r.text().unwrap_or_default()
            );
        }
        from_t = to_t + 1;
        i += chunk;
    }
}

/// A result in comparable form: series by labels, points as (ms, value).
type Canonical = BTreeMap<String, Vec<(i64, f64)>>;

fn canonical(v: &Value) -> Canonical {
    let mut out = Canonical::new();
    let point = |p: &Value| -> (i64, f64) {
        let t = (p[0].as_f64().unwrap_or(f64::NAN) * 1000.0).round() as i64;
        let s = p[1].as_str().unwrap_or("NaN");
        let v = match s {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            _ => s.parse().unwrap_or(f64::NAN),
        };
        (t, v)
    };
    match v {
        Value::Array(items) if items.len() == 2 && items[0].is_number() => {
            out.insert("scalar".into(), vec![point(v)]);
        }
        Value::Array(items) => {
            for s in items {
                let key = s["metric"].to_string();
                let pts = match s.get("values") {
                    Some(vals) => vals.as_array().into_iter().flatten().map(point).collect(),
                    None => vec![point(&s["value"])],
                };
                out.insert(key, pts);
            }
        }
        _ => {}
    }
    out
}

fn promtool(args: &[String]) -> Result<Value, String> {
    let out = Command::new(which("promtool"))
        .arg("query")
        .args(args)
        .output()
        .map_err(|e| format!("promtool: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "promtool output: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() || a == b {
        return true;
    }
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / sum.min(f64::MAX) < 1e-6
}

fn differences(want: &Canonical, got: &Canonical) -> Option<String> {
    if want.keys().ne(got.keys()) {
        return Some(format!(
            "series differ:\n  prometheus: {:?}\n  taishan:    {:?}",
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>()
        ));
    }
    for (k, w) in want {
        let g = &got[k];
        let same =
            w.len() == g.len() && w.iter().zip(g).all(|(a, b)| a.0 == b.0 && close(a.1, b.1));
        if !same {
            return Some(format!("{k}:\n  prometheus: {w:?}\n  taishan:    {g:?}"));
        }
    }
    None
}

#[test]
fn promql_answers_match_prometheus_242() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Minute-aligned start, three hours ago.
    let t0 = (now - HOURS * 3_600_000 - 600_000) / 60_000 * 60_000;
    let data = dataset(t0);

    let dir = tempfile::tempdir().unwrap();
    let taishan = Taishan::start(&dir.path().join("d"), "");
    let prom = Prometheus::start(
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver"],
    );
    write_both(
        &data,
        &[
            &format!("{}/api/v1/write", taishan.base),
            &format!("{}/api/v1/write", prom.base),
        ],
    );

    let secs = |ms: i64| format!("{}", ms / 1000);
    // Evaluation times at :30 past a minute.
    let t_late = t0 + (HOURS * 60 - 1) * 60_000 + 30_000;
    let t_mid = t0 + 100 * 60_000 + 30_000;
    let t_at = t0 + 60 * 60_000 + 30_000;
    let at = secs(t_at);
    let instant_queries: Vec<String> = vec![
        "rate(http_requests_total[5m])".into(),
        "sum by (job) (rate(http_requests_total[5m]))".into(),
        "sum by (job, code) (increase(http_requests_total[10m]))".into(),
        "irate(http_requests_total{code=\"500\"}[2m])".into(),
        "resets(http_requests_total[2h])".into(),
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))".into(),
        "histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[10m])))".into(),
        "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket{job=\"api\"}[5m]))".into(),
        "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])".into(),
        "topk(3, rate(http_requests_total[5m]))".into(),
        "bottomk(2, sum by (instance) (rate(http_requests_total[5m])))".into(),
        "topk by (job) (1, queue_depth)".into(),
        "rate(http_requests_total[5m]) * on (instance) group_left (version) node_info".into(),
        "sum by (version) (rate(http_requests_total[5m]) * on (instance) group_left (version) node_info)".into(),
        "node_info * on (instance) group_right (version) queue_depth".into(),
        "queue_depth / on (job, instance) sum by (job, instance) (rate(http_requests_total[5m]))".into(),
        "max_over_time(rate(http_requests_total{job=\"api\"}[5m])[30m:1m])".into(),
        "avg_over_time(queue_depth[10m:20s])".into(),
        "rate(http_requests_total{code=\"500\"}[5m])[10m:1m]".into(),
        "sum(rate(http_requests_total[5m] offset 30m))".into(),
        "sum(rate(http_requests_total[5m])) - sum(rate(http_requests_total[5m] offset 1h))".into(),
        format!("queue_depth @ {at}"),
        format!("sum(rate(http_requests_total[5m] @ {at}))"),
        format!("max_over_time(queue_depth[20m:1m] @ {at})"),
        "absent(nonexistent_metric{job=\"api\"})".into(),
        "absent(queue_depth)".into(),
        "absent_over_time(legacy_jobs_total[10m])".into(),
        "http_requests_total{job=~\"a.*\", code!~\"5..\"}".into(),
        "count(http_requests_total{method=~\"get|post\", instance!=\"i1\"})".into(),
        "sum without (instance, method) (rate(http_requests_total[5m]))".into(),
        "avg by (job) (queue_depth)".into(),
        "stddev by (job) (queue_depth)".into(),
        "stdvar(queue_depth)".into(),
        "quantile(0.9, queue_depth)".into(),
        "count_values(\"depth\", round(queue_depth))".into(),
        "group by (job) (http_requests_total)".into(),
        "delta(queue_depth[10m])".into(),
        "deriv(queue_depth[15m])".into(),
        "predict_linear(queue_depth[30m], 3600)".into(),
        "holt_winters(queue_depth[10m], 0.5, 0.5)".into(),
        "changes(queue_depth[30m])".into(),
        "label_replace(queue_depth, \"host\", \"node-$1\", \"instance\", \"i(.*)\")".into(),
        "label_join(queue_depth, \"id\", \"/\", \"job\", \"instance\")".into(),
        "sort_desc(sum by (instance) (rate(http_requests_total[5m])))".into(),
        "clamp(queue_depth, 2, 8)".into(),
        "clamp_min(queue_depth, 4) + clamp_max(queue_depth, 6)".into(),
        "abs(delta(queue_depth[5m])) + sqrt(queue_depth) + ln(queue_depth + 1)".into(),
        "round(queue_depth, 0.5) + ceil(queue_depth) - floor(queue_depth) + exp(queue_depth / 10)".into(),
        "timestamp(queue_depth)".into(),
        "time() - batch_last_success_timestamp_seconds".into(),
        "hour(batch_last_success_timestamp_seconds) + minute(batch_last_success_timestamp_seconds) / 60".into(),
        "day_of_week(batch_last_success_timestamp_seconds) + days_in_month(batch_last_success_timestamp_seconds) + month(batch_last_success_timestamp_seconds)".into(),
        "scalar(sum(queue_depth)) * 2".into(),
        "queue_depth > 5".into(),
        "queue_depth > bool 5".into(),
        "rate(http_requests_total[5m]) > 0.3 and on (instance) queue_depth < 6".into(),
        "http_requests_total unless http_requests_total{code=\"500\"}".into(),
        "queue_depth{job=\"api\"} or queue_depth{instance=\"i2\"}".into(),
        "sum(rate(http_requests_total{code=\"500\"}[5m])) / sum(rate(http_requests_total[5m]))".into(),
        "max_over_time(queue_depth[10m]) - min_over_time(queue_depth[10m])".into(),
        "sum_over_time(queue_depth[10m]) / count_over_time(queue_depth[10m])".into(),
        "quantile_over_time(0.9, queue_depth[10m])".into(),
        "stddev_over_time(queue_depth[10m])".into(),
        "last_over_time(queue_depth[10m])".into(),
        "(-queue_depth) + queue_depth ^ 2 - queue_depth % 3".into(),
        "queue_depth atan2 on (job, instance) queue_depth".into(),
        "queue_depth[2m]".into(),
        "flappy_gauge".into(),
        "count_over_time(flappy_gauge[1h])".into(),
        "legacy_jobs_total".into(),
    ];
    let range_queries = [
        "sum by (job) (rate(http_requests_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        "topk(2, queue_depth)",
        "rate(http_requests_total{code=\"500\"}[5m]) * on (instance) group_left (version) node_info",
        "max_over_time(rate(http_requests_total{job=\"web\"}[5m])[15m:1m])",
        "sum(increase(http_requests_total[10m] offset 15m))",
        "absent(nonexistent_metric)",
        "absent_over_time(legacy_jobs_total[10m])",
        "flappy_gauge",
        "legacy_jobs_total",
        "queue_depth > bool 5",
        "count_values(\"depth\", round(queue_depth))",
        "time() - batch_last_success_timestamp_seconds",
        "deriv(queue_depth[10m])",
        "quantile(0.5, queue_depth) + scalar(max(queue_depth))",
        "queue_depth @ start()",
        "rate(http_requests_total{job=\"api\",code=\"200\"}[5m] @ end())",
    ];
    let range_args = [
        (t_mid, t_late, "60s"),
        (t0 + 30 * 60_000 + 30_000, t_late, "5m"),
    ];

    let mut checked = 0;
    let mut non_empty = 0;
    let mut failures = Vec::new();
    let mut compare = |label: String, args: Vec<String>| {
        let mut prom_args = args.clone();
        let mut tai_args = args;
        let n = prom_args.len();
        prom_args.insert(n - 1, prom.base.clone());
        tai_args.insert(n - 1, taishan.base.clone());
        let (p, t) = (promtool(&prom_args), promtool(&tai_args));
        checked += 1;
        match (p, t) {
            (Ok(p), Ok(t)) => {
                let (p, t) = (canonical(&p), canonical(&t));
                if !p.is_empty() {
                    non_empty += 1;
                }
                if let Some(d) = differences(&p, &t) {
                    failures.push(format!("{label}\n{d}"));
                }
            }
            (Err(p), Err(_)) => failures.push(format!("{label}: both failed; prometheus said {p}")),
            (p, t) => failures.push(format!(
                "{label}: prometheus {:?} / taishan {:?}",
                p.err(),
                t.err()
            )),
        }
    };
    for q in &instant_queries {
        for t in [t_late, t_mid] {
            compare(
                format!("instant {q} @ {}", secs(t)),
                vec![
                    "instant".into(),
                    "-o".into(),
                    "json".into(),
                    format!("--time={}", secs(t)),
                    q.clone(),
                ],
            );
        }
    }
    for q in range_queries {
        for (start, end, step) in range_args {
            compare(
                format!("range {q} [{}, {}] step {step}", secs(start), secs(end)),
                vec![
                    "range".into(),
                    "-o".into(),
                    "json".into(),
                    format!("--start={}", secs(start)),
                    format!("--end={}", secs(end)),
                    format!("--step={step}"),
                    q.to_string(),
                ],
            );
        }
    }
    assert!(instant_queries.len() + range_queries.len() >= 50);
    assert!(
        failures.is_empty(),
        "{} of {checked} comparisons differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Most answers must hold data, or the comparison proves little.
    assert!(
        non_empty * 10 >= checked * 8,
        "only {non_empty} of {checked} answers had data"
    );
}
