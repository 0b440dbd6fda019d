//! A service fleet's metrics for query benchmarks: 10,000 series of request counters,
//! latency histograms, queue gauges and an info metric for joins, generated step by step
//! (deterministically) and encoded as remote-write requests in time order.

use taishan_collector::receivers::prompb;

/// Jobs in the fleet.
pub const JOBS: usize = 10;
/// Histogram bucket bounds.
const BOUNDS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];
const BOUND_VALUES: [f64; 10] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    f64::INFINITY,
];

enum Model {
    /// A counter growing by about `rate` per step.
    Counter { rate: f64 },
    /// Cumulative bucket `b` of a histogram; `group` indexes the histogram.
    Bucket { group: usize, b: usize },
    /// A gauge wandering around a level.
    Gauge { level: f64 },
    /// Always 1.
    Info,
}

struct Series {
    labels: Vec<(String, String)>,
    model: Model,
    value: f64,
}

/// The fleet and its running state.
pub struct Fleet {
    series: Vec<Series>,
    /// Per histogram: cumulative counts per bucket.
    histograms: Vec<[f64; BOUNDS.len()]>,
    step: u64,
}

fn rng(seed: u64, step: u64) -> u64 {
    let mut z = seed.wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn labels(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

impl Fleet {
    /// 4,000 request counters, 5,000 histogram buckets, 900 gauges, 100 info series.
    pub fn new() -> Self {
        let mut series = Vec::new();
        let mut histograms = Vec::new();
        for j in 0..JOBS {
            let job = format!("job-{j}");
            for i in 0..100 {
                for code in ["200", "500"] {
                    for method in ["get", "post"] {
                        let rate =
                            if code == "200" { 50.0 } else { 1.0 } * (1.0 + (i % 7) as f64 / 7.0);
                        series.push(Series {
                            labels: labels(&[
                                ("__name__", "http_requests_total".into()),
                                ("job", job.clone()),
                                ("instance", format!("i-{i}")),
                                ("code", code.into()),
                                ("method", method.into()),
                            ]),
                            model: Model::Counter { rate },
                            value: 0.0,
                        });
                    }
                }
            }
            for i in 0..50 {
                let group = histograms.len();
                histograms.push([0.0; BOUNDS.len()]);
                for (b, le) in BOUNDS.iter().enumerate() {
                    series.push(Series {
                        labels: labels(&[
                            ("__name__", "http_request_duration_seconds_bucket".into()),
                            ("job", job.clone()),
                            ("instance", format!("i-{i}")),
                            ("le", (*le).into()),
                        ]),
                        model: Model::Bucket { group, b },
                        value: 0.0,
                    });
                }
            }
            for i in 0..90 {
                series.push(Series {
                    labels: labels(&[
                        ("__name__", "queue_depth".into()),
                        ("job", job.clone()),
                        ("instance", format!("i-{i}")),
                    ]),
                    model: Model::Gauge {
                        level: 10.0 + (i % 13) as f64,
                    },
                    value: 0.0,
                });
            }
        }
        for i in 0..100 {
            series.push(Series {
                labels: labels(&[
                    ("__name__", "node_info".into()),
                    ("job", "node".into()),
                    ("instance", format!("i-{i}")),
                    ("version", format!("1.{}.0", i % 4)),
                ]),
                model: Model::Info,
                value: 1.0,
            });
        }
        Self {
            series,
            histograms,
            step: 0,
        }
    }

    /// How many series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Advances one step and returns every series' value.
    fn advance(&mut self) -> Vec<f64> {
        let step = self.step;
        self.step += 1;
        for (h, counts) in self.histograms.iter_mut().enumerate() {
            // About 60 observations per step, log-spread over the buckets.
            for k in 0..60u64 {
                let r = rng(h as u64 * 1_000_003 + k, step);
                let x = 0.002 * (1.0 + (r % 10_000) as f64 / 10_000.0 * 9.0).powi(3);
                for (b, le) in BOUND_VALUES.iter().enumerate() {
                    if x <= *le {
                        counts[b] += 1.0;
                    }
                }
            }
        }
        let histograms = &self.histograms;
        self.series
            .iter_mut()
            .enumerate()
            .map(|(n, s)| {
                let r = rng(n as u64, step);
                s.value = match s.model {
                    Model::Counter { rate } => {
                        s.value + (rate * (0.5 + (r % 1000) as f64 / 1000.0)).round()
                    }
                    Model::Bucket { group, b } => histograms[group][b],
                    Model::Gauge { level } => (level + ((r % 2001) as f64 / 100.0 - 10.0))
                        .max(0.0)
                        .round(),
                    Model::Info => 1.0,
                };
                s.value
            })
            .collect()
    }

    /// Remote-write requests covering `steps` steps ending at `end_ms`, `per_request` steps
    /// of every series in each, oldest first.
    pub fn requests(
        &mut self,
        steps: u64,
        interval_ms: i64,
        end_ms: i64,
        per_request: u64,
    ) -> Vec<Vec<u8>> {
        let start = end_ms - (steps as i64 - 1) * interval_ms;
        let mut out = Vec::new();
        let mut done = 0;
        while done < steps {
            let n = per_request.min(steps - done);
            let mut samples: Vec<Vec<(i64, f64)>> =
                vec![Vec::with_capacity(n as usize); self.len()];
            for k in 0..n {
                let t = start + (done + k) as i64 * interval_ms;
                for (i, v) in self.advance().into_iter().enumerate() {
                    samples[i].push((t, v));
                }
            }
            let req = prompb::WriteRequest {
                timeseries: self
                    .series
                    .iter()
                    .zip(&samples)
                    .map(|(s, pts)| {
                        let l: Vec<(&str, &str)> = s
                            .labels
                            .iter()
                            .map(|(a, b)| (a.as_str(), b.as_str()))
                            .collect();
                        prompb::TimeSeries::new(&l, pts)
                    })
                    .collect(),
            };
            out.push(req.to_snappy());
            done += n;
        }
        out
    }
}
