//! Node-exporter-like data: 100 series per host with realistic value patterns, generated
//! deterministically so every peer gets the same bytes.

use prost::Message;
use taishan_collector::receivers::prompb;

/// One series' identity and value model.
pub struct SeriesModel {
    pub labels: Vec<(String, String)>,
    kind: Kind,
    seed: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    /// Monotonic counter of centiseconds shown in seconds (CPU time from /proc: jiffies/100).
    FloatCounter(f64),
    /// Monotonic counter with integer increments (bytes).
    IntCounter(u64),
    /// A gauge wandering around a level, in steps of `quantum`.
    Gauge {
        level: f64,
        spread: f64,
        quantum: f64,
    },
    /// Never changes.
    Constant(f64),
}

fn rng(seed: u64, step: u64) -> u64 {
    // splitmix64: cheap, deterministic, well mixed.
    let mut z = seed.wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SeriesModel {
    /// The value at `step` (counters are the sum of the increments up to it).
    pub fn value(&self, step: u64, state: &mut f64) -> f64 {
        let r = rng(self.seed, step);
        match self.kind {
            Kind::FloatCounter(rate) => {
                // Exporters read integer jiffies and divide once: the value is the nearest
                // double to a two-decimal number, never an accumulation of float sums.
                *state += (rate * (0.5 + (r % 1000) as f64 / 1000.0) * 100.0).round();
                *state / 100.0
            }
            Kind::IntCounter(rate) => {
                *state += (rate / 2 + r % rate.max(1)) as f64;
                *state
            }
            Kind::Gauge {
                level,
                spread,
                quantum,
            } => {
                let x = level + spread * (((r % 2001) as f64 / 1000.0) - 1.0);
                if quantum >= 1.0 {
                    (x / quantum).round() * quantum
                } else {
                    let per_unit = (1.0 / quantum).round();
                    (x * per_unit).round() / per_unit
                }
            }
            Kind::Constant(v) => v,
        }
    }
}

/// `hosts × 100` series.
pub fn node_exporter_fleet(hosts: usize) -> Vec<SeriesModel> {
    let mut out = Vec::with_capacity(hosts * 100);
    for h in 0..hosts {
        let instance = format!("host-{h:06}:9100");
        let base = |name: &str| -> Vec<(String, String)> {
            vec![
                ("__name__".into(), name.into()),
                ("instance".into(), instance.clone()),
                ("job".into(), "node".into()),
            ]
        };
        let mut push = |mut labels: Vec<(String, String)>, kind: Kind| {
            labels.sort();
            let seed = rng(out.len() as u64, 7);
            out.push(SeriesModel { labels, kind, seed });
        };
        for cpu in 0..8 {
            for (mode, rate) in [
                ("idle", 50.0),
                ("user", 5.0),
                ("system", 2.0),
                ("iowait", 0.3),
                ("irq", 0.01),
                ("softirq", 0.2),
                ("steal", 0.0),
                ("nice", 0.05),
            ] {
                let mut l = base("node_cpu_seconds_total");
                l.push(("cpu".into(), cpu.to_string()));
                l.push(("mode".into(), mode.into()));
                push(
                    l,
                    if rate == 0.0 {
                        Kind::Constant(0.0)
                    } else {
                        Kind::FloatCounter(rate)
                    },
                );
            }
        }
        for (name, level) in [
            ("MemFree", 2.0e9),
            ("MemAvailable", 6.0e9),
            ("Cached", 3.0e9),
            ("Buffers", 2.0e8),
        ] {
            push(
                base(&format!("node_memory_{name}_bytes")),
                Kind::Gauge {
                    level,
                    spread: level * 0.05,
                    quantum: 4096.0,
                },
            );
        }
        for dir in ["receive", "transmit"] {
            for (dev, rate) in [("eth0", 5_000_000u64), ("lo", 20_000)] {
                let mut l = base(&format!("node_network_{dir}_bytes_total"));
                l.push(("device".into(), dev.into()));
                push(l, Kind::IntCounter(rate));
            }
        }
        for mp in ["/", "/var", "/home"] {
            for (name, kind) in [
                (
                    "avail",
                    Kind::Gauge {
                        level: 5.0e10,
                        spread: 1.0e8,
                        quantum: 4096.0,
                    },
                ),
                ("size", Kind::Constant(1.0e11)),
            ] {
                let mut l = base(&format!("node_filesystem_{name}_bytes"));
                l.push(("mountpoint".into(), mp.into()));
                l.push(("fstype".into(), "ext4".into()));
                l.push(("device".into(), "/dev/sda1".into()));
                push(l, kind);
            }
        }
        for (name, level) in [
            ("node_load1", 1.5),
            ("node_load5", 1.2),
            ("node_load15", 1.0),
        ] {
            push(
                base(name),
                Kind::Gauge {
                    level,
                    spread: 0.5,
                    quantum: 0.01,
                },
            );
        }
        for dir in ["read", "written"] {
            for dev in ["sda", "sdb"] {
                let mut l = base(&format!("node_disk_{dir}_bytes_total"));
                l.push(("device".into(), dev.into()));
                push(l, Kind::IntCounter(400_000));
            }
        }
        push(base("node_boot_time_seconds"), Kind::Constant(1.7e9));
        for i in 0..13 {
            push(
                base(&format!("node_vmstat_counter_{i}")),
                Kind::IntCounter(100 + i * 37),
            );
        }
    }
    out
}

/// Remote-write request bodies for `steps` scrapes `interval_ms` apart ending at `end_ms`,
/// split into `shards` streams (each series in one shard, like Prometheus's queue manager),
/// `per_request` samples per request. Returns per shard its bodies in time order.
pub fn encode_requests(
    fleet: &[SeriesModel],
    steps: u64,
    interval_ms: i64,
    end_ms: i64,
    shards: usize,
    per_request: usize,
) -> Vec<Vec<bytes::Bytes>> {
    let start = end_ms - (steps as i64 - 1) * interval_ms;
    let mut state = vec![0.0f64; fleet.len()];
    let mut out: Vec<Vec<bytes::Bytes>> = vec![Vec::new(); shards];
    let mut encoder = snap::raw::Encoder::new();
    for step in 0..steps {
        let t = start + step as i64 * interval_ms;
        for (shard, bodies) in out.iter_mut().enumerate() {
            let members: Vec<usize> = (shard..fleet.len()).step_by(shards).collect();
            for group in members.chunks(per_request) {
                let req = prompb::WriteRequest {
                    timeseries: group
                        .iter()
                        .map(|&i| prompb::TimeSeries {
                            labels: fleet[i]
                                .labels
                                .iter()
                                .map(|(n, v)| prompb::Label::new(n, v))
                                .collect(),
                            samples: vec![prompb::Sample {
                                timestamp: t,
                                value: fleet[i].value(step, &mut state[i]),
                            }],
                            histograms: vec![],
                        })
                        .collect(),
                };
                let body = encoder.compress_vec(&req.encode_to_vec()).expect("snappy");
                bodies.push(bytes::Bytes::from(body));
            }
        }
    }
    out
}
