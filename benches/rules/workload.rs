//! The rule-evaluation workload: 100,000 series of a service fleet (request and error
//! counters per service, instance and route, queue gauges per instance) and 1,000 rules over
//! them — recording rules and alerts of the kinds SREs write, ten per service, in ten groups.

use taishan_collector::receivers::prompb;

/// Services in the fleet; each has its own ten rules.
pub const SERVICES: usize = 100;
const INSTANCES: usize = 40;
const ROUTES: usize = 10;
const QUEUE_INSTANCES: usize = 200;
/// Groups the rules are spread over.
pub const GROUPS: usize = 10;

fn rng(seed: u64) -> u64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1).
fn unit(seed: u64) -> f64 {
    (rng(seed) >> 11) as f64 / (1u64 << 53) as f64
}

struct Series {
    labels: Vec<(String, String)>,
    kind: Kind,
}

enum Kind {
    Requests,
    Errors { heavy: bool },
    Queue,
}

/// The fleet's series.
pub struct Fleet {
    series: Vec<Series>,
}

impl Fleet {
    /// 100,000 series.
    pub fn new() -> Self {
        let mut series = Vec::with_capacity(100_000);
        for s in 0..SERVICES {
            for i in 0..INSTANCES {
                for r in 0..ROUTES {
                    let l = |name: &str| {
                        vec![
                            ("__name__".to_string(), name.to_string()),
                            ("instance".to_string(), format!("i-{i:02}")),
                            ("route".to_string(), format!("r-{r}")),
                            ("service".to_string(), format!("svc-{s:03}")),
                        ]
                    };
                    series.push(Series {
                        labels: l("bench_requests_total"),
                        kind: Kind::Requests,
                    });
                    series.push(Series {
                        labels: l("bench_errors_total"),
                        // A few instances fail a lot, so some alerts fire.
                        kind: Kind::Errors {
                            heavy: (s + i) % 97 == 0,
                        },
                    });
                }
            }
            for q in 0..QUEUE_INSTANCES {
                series.push(Series {
                    labels: vec![
                        ("__name__".to_string(), "bench_queue_depth".to_string()),
                        ("instance".to_string(), format!("q-{q:03}")),
                        ("service".to_string(), format!("svc-{s:03}")),
                    ],
                    kind: Kind::Queue,
                });
            }
        }
        Self { series }
    }

    /// How many series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Remote-write requests of every series for `steps` steps `interval_ms` apart from
    /// `start_ms`, `per_request` steps per request, oldest first.
    pub fn requests(
        &self,
        start_ms: i64,
        steps: u64,
        interval_ms: i64,
        per_request: u64,
    ) -> Vec<Vec<u8>> {
        let value = |i: usize, s: &Series, step: u64| -> f64 {
            let seed = (i as u64) << 20 | step;
            match s.kind {
                // Counters: their value at `step` is the sum of per-step increments.
                Kind::Requests => step as f64 * 15.0 + unit(seed) * 5.0,
                Kind::Errors { heavy } => {
                    let per_step = if heavy { 6.0 } else { 0.05 };
                    (step as f64 * per_step).floor()
                }
                Kind::Queue => {
                    if rng(i as u64) % 500 == 0 {
                        95.0 + unit(seed) * 5.0
                    } else {
                        unit(seed) * 80.0
                    }
                }
            }
        };
        let mut out = Vec::new();
        let mut done = 0;
        while done < steps {
            let n = per_request.min(steps - done);
            let req = prompb::WriteRequest {
                timeseries: self
                    .series
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let pts: Vec<(i64, f64)> = (done..done + n)
                            .map(|k| (start_ms + k as i64 * interval_ms, value(i, s, k)))
                            .collect();
                        let l: Vec<(&str, &str)> = s
                            .labels
                            .iter()
                            .map(|(a, b)| (a.as_str(), b.as_str()))
                            .collect();
                        prompb::TimeSeries::new(&l, &pts)
                    })
                    .collect(),
            };
            out.push(req.to_snappy());
            done += n;
        }
        out
    }
}

/// The rule file: ten rules per service, services spread over [`GROUPS`] groups.
pub fn rule_file() -> String {
    let mut out = String::from("groups:\n");
    for g in 0..GROUPS {
        out.push_str(&format!("  - name: fleet-{g}\n    rules:\n"));
        for s in (g..SERVICES).step_by(GROUPS) {
            let svc = format!("svc-{s:03}");
            let sel = |name: &str| format!("{name}{{service=\"{svc}\"}}");
            let req = sel("bench_requests_total");
            let err = sel("bench_errors_total");
            let q = sel("bench_queue_depth");
            let rules = [
                format!("record: service_route:requests:rate5m\n        expr: sum by (service, route) (rate({req}[5m]))"),
                format!("record: service:errors:rate5m\n        expr: sum by (service) (rate({err}[5m]))"),
                format!("record: service:error_ratio:rate5m\n        expr: sum by (service) (rate({err}[5m])) / sum by (service) (rate({req}[5m]))"),
                format!("record: instance:requests:rate1m\n        expr: sum by (service, instance) (rate({req}[1m]))"),
                format!("record: service:queue_depth:max\n        expr: max by (service) ({q})"),
                format!("record: service:requests:increase10m\n        expr: sum by (service) (increase({req}[10m]))"),
                format!("alert: HighErrorRatio\n        expr: sum by (service, instance) (rate({err}[5m])) / sum by (service, instance) (rate({req}[5m])) > 0.1\n        for: 1m\n        labels:\n          severity: page"),
                format!("alert: QueueDeep\n        expr: {q} > 90\n        for: 2m"),
                format!("alert: TrafficDrop\n        expr: sum by (service) (rate({req}[5m])) < 0.5 * sum by (service) (rate({req}[5m] offset 5m))\n        for: 5m"),
                format!("alert: InstanceErrors\n        expr: sum by (service, instance) (increase({err}[5m])) > 100\n        annotations:\n          summary: \"{{{{ $labels.instance }}}} failed {{{{ $value | humanize }}}} requests\""),
            ];
            for r in rules {
                out.push_str(&format!("      - {r}\n"));
            }
        }
    }
    out
}
