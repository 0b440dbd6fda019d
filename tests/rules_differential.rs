//! Differential test of rule evaluation against the real thing: Debian's Prometheus 2.42
//! scrapes a target whose payment failures and queue depth go through phases, and evaluates
//! a rule file (recording rules, alerts with `for`, `keep_firing_for`, templated labels).
//! Taishan then evaluates the same file over the very samples Prometheus scraped, at the
//! instants Prometheus evaluated, and must produce the same `ALERTS` and `ALERTS_FOR_STATE`
//! series: same label sets, same timestamps, same values. Prometheus's evaluation instants
//! must also be the slots Taishan's scheduler computes for that file and group.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{serve_http, Prometheus};
use taishan_core::{
    AppendError, Labels, MetricBatch, Sample, SeriesSamples, SystemClock, TenantId,
};
use taishan_query::{Engine, QueryLimits};
use taishan_rules::schedule::slot_offset_ns;
use taishan_rules::{EvalEnv, Group, RuleFile, SampleWriter};
use taishan_store::{Matcher, Tsdb, TsdbOptions};

const RULES: &str = r#"groups:
  - name: differential
    interval: 1s
    rules:
      - record: tick
        expr: vector(1)
      - record: channel:failure_ratio:rate5s
        expr: sum by (channel) (rate(payments_total{status="failed"}[5s])) / sum by (channel) (rate(payments_total[5s]))
      - alert: ChannelFailing
        expr: channel:failure_ratio:rate5s > 0.2
        for: 3s
        keep_firing_for: 2s
        labels:
          severity: page
          route: "pay-{{ $labels.channel }}"
      - alert: QueueDeep
        expr: queue_depth > 50
        labels:
          level: '{{ if gt $value 80.0 }}high{{ else }}low{{ end }}'
        annotations:
          summary: "queue at {{ $value | humanize }}"
      - alert: AnyPayments
        expr: sum(rate(payments_total[5s])) > 0
        for: 4s
"#;

/// How long the scraped target runs through its phases.
const RUN: Duration = Duration::from_secs(40);

/// The target's exposition at `t` seconds after start: bank-a fails a third of its
/// payments between 10 s and 22 s; the queue deepens from 10 s and drains at 30 s.
fn exposition(t: f64) -> String {
    let failing = (t.min(22.0) - 10.0).max(0.0);
    let failed_a = 5.0 * failing;
    let ok_a = 10.0 * t;
    let ok_b = 4.0 * t;
    let queue = match t {
        t if t < 10.0 => 10.0,
        t if t < 22.0 => 60.0,
        t if t < 30.0 => 90.0,
        _ => 10.0,
    };
    format!(
        "# TYPE payments_total counter\n\
         payments_total{{channel=\"bank-a\",status=\"succeeded\"}} {ok_a}\n\
         payments_total{{channel=\"bank-a\",status=\"failed\"}} {failed_a}\n\
         payments_total{{channel=\"bank-b\",status=\"succeeded\"}} {ok_b}\n\
         payments_total{{channel=\"bank-b\",status=\"failed\"}} 0\n\
         # TYPE queue_depth gauge\n\
         queue_depth {queue}\n"
    )
}

/// Raw samples of `selector` over the last `window` at `at`, by label set.
fn raw(prom: &Prometheus, selector: &str, at: f64) -> BTreeMap<Labels, Vec<(i64, f64)>> {
    let answer = prom.query(&format!("{selector}[10m]"), at);
    let mut out = BTreeMap::new();
    for series in answer["data"]["result"].as_array().expect("matrix") {
        let mut pairs: Vec<(String, String)> = series["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        pairs.sort();
        let labels =
            Labels::from_sorted_unchecked(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let samples = series["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().expect("time") * 1000.0).round() as i64;
                let v: f64 = p[1].as_str().expect("value").parse().expect("number");
                (t, v)
            })
            .collect();
        out.insert(labels, samples);
    }
    out
}

struct StoreWriter {
    db: Arc<Tsdb>,
    runtime: tokio::runtime::Runtime,
}

impl SampleWriter for StoreWriter {
    fn write(
        &self,
        tenant: &TenantId,
        series: Vec<(Labels, Sample)>,
    ) -> Result<usize, AppendError> {
        let batch = MetricBatch::from_samples(tenant.clone(), series);
        self.runtime
            .block_on(self.db.append(batch))
            .map(|o| o.rejected_count())
    }
}

#[test]
fn alerts_match_prometheus_over_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule_path = dir.path().join("differential.rules.yml");
    std::fs::write(&rule_path, RULES).expect("rules");
    let rule_path = rule_path.display().to_string();

    let started = Instant::now();
    let target = serve_http(move |_| {
        (
            "text/plain; version=0.0.4".into(),
            exposition(started.elapsed().as_secs_f64()),
        )
    });
    let prom = Prometheus::start(
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{rule_path}]\n\
             scrape_configs:\n  - job_name: target\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        ),
        &[],
    );
    std::thread::sleep(RUN.saturating_sub(started.elapsed()) + Duration::from_secs(2));
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();

    let ticks: Vec<i64> = raw(&prom, "tick", end)
        .into_values()
        .next()
        .expect("Prometheus evaluated the group")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(ticks.len() >= 30, "only {} evaluations", ticks.len());
    let expected_alerts = raw(&prom, "ALERTS", end);
    let expected_for_state = raw(&prom, "ALERTS_FOR_STATE", end);
    let scraped = raw(&prom, "{__name__=~\"payments_total|queue_depth\"}", end);
    assert!(
        expected_alerts
            .keys()
            .any(|l| l.get("alertname") == Some("ChannelFailing")
                && l.get("alertstate") == Some("firing")),
        "the scenario makes ChannelFailing fire in Prometheus: {expected_alerts:?}\n{}",
        prom.log()
    );

    // Taishan's scheduler puts the group on the same slots.
    let offset_ms = slot_offset_ns(&rule_path, "differential", Duration::from_secs(1)) / 1_000_000;
    for t in &ticks {
        assert_eq!(
            (t - offset_ms).rem_euclid(1000),
            0,
            "tick {t} is not on Taishan's slot"
        );
    }

    // The same samples into Taishan's store, the same rules evaluated at the same instants.
    let store_dir = tempfile::tempdir().expect("tempdir");
    let db =
        Arc::new(Tsdb::open(TsdbOptions::scratch(store_dir.path().to_path_buf())).expect("store"));
    let writer = StoreWriter {
        db: db.clone(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    };
    let input: Vec<SeriesSamples> = scraped
        .iter()
        .map(|(labels, samples)| SeriesSamples {
            labels: labels.clone(),
            samples: samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
        })
        .collect();
    let refused = writer
        .runtime
        .block_on(db.append(MetricBatch::new(TenantId::default(), input)))
        .expect("append")
        .rejected_count();
    assert_eq!(refused, 0);

    let file = RuleFile::parse(&rule_path, RULES).expect("valid rules");
    let mut group = Group::new(&rule_path, &file.groups[0], Duration::from_secs(60), false);
    let engine = Engine::new(db.clone(), QueryLimits::default(), Arc::new(SystemClock));
    let no_labels = BTreeMap::new();
    let env = EvalEnv {
        engine: &engine,
        writer: &writer,
        external_labels: &no_labels,
        external_url: "",
    };
    for (i, t) in ticks.iter().enumerate() {
        let run = group.eval(*t, &env);
        assert_eq!(run.failed, 0, "rules failed at {t}");
        if i == 1 {
            // Prometheus restores `for` state after its second evaluation; from then on
            // it writes ALERTS.
            taishan_rules::restore::restore_for_state(
                &mut group,
                &db,
                *t,
                taishan_rules::restore::OUTAGE_TOLERANCE,
                taishan_rules::restore::FOR_GRACE_PERIOD,
            );
        }
    }

    let last = *ticks.last().expect("ticks");
    let ours = |name: &str| -> BTreeMap<Labels, Vec<(i64, f64)>> {
        db.select(
            &TenantId::default(),
            &[Matcher::equal("__name__", name)],
            0,
            last,
        )
        .expect("select")
        .into_iter()
        .map(|s| {
            let samples: Vec<(i64, f64)> = s
                .samples
                .iter()
                .filter(|x| !taishan_core::is_stale_marker(x.value))
                .map(|x| (x.timestamp_ms, x.value))
                .collect();
            (s.labels, samples)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
    };
    let trim = |m: BTreeMap<Labels, Vec<(i64, f64)>>| -> BTreeMap<Labels, Vec<(i64, f64)>> {
        m.into_iter()
            .map(|(l, s)| {
                (
                    l,
                    s.into_iter()
                        .filter(|(t, _)| *t <= last)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, s)| !s.is_empty())
            .collect()
    };
    let describe = |m: &BTreeMap<Labels, Vec<(i64, f64)>>| -> String {
        m.iter()
            .map(|(l, s)| {
                let first = s.first().map(|x| x.0 - ticks[0]).unwrap_or(0);
                let last = s.last().map(|x| x.0 - ticks[0]).unwrap_or(0);
                format!("{l}: {} samples, +{first}ms..+{last}ms", s.len())
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Where a scraped sample lies exactly on a [5s] window's start, Prometheus 2 (closed
    // windows) and Taishan (left-open, as Prometheus 3) may differ by design; say so if the
    // comparison fails.
    let sample_times: std::collections::BTreeSet<i64> = scraped
        .values()
        .flat_map(|s| s.iter().map(|(t, _)| *t))
        .collect();
    let on_edges = ticks
        .iter()
        .filter(|t| sample_times.contains(&(**t - 5_000)))
        .count();
    for (name, expected) in [
        ("ALERTS", trim(expected_alerts)),
        ("ALERTS_FOR_STATE", trim(expected_for_state)),
    ] {
        let got = ours(name);
        assert_eq!(
            got,
            expected,
            "{name} differs ({on_edges} evaluations had a sample exactly on their window's start).\nTaishan:\n{}\nPrometheus:\n{}",
            describe(&got),
            describe(&expected)
        );
    }
    db.close();
}
