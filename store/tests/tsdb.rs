//! The store through its public API: durability across reopen, block cuts, compaction,
//! retention, limits and tenant isolation.

use std::sync::Arc;
use std::time::Duration;

use taishan_core::config::ByteSize;
use taishan_core::{
    Labels, ManualClock, MetricBatch, RejectReason, Sample, SeriesSamples, TenantId,
};
use taishan_store::StorageConfig;
use taishan_store::{MatchOp, Matcher, StoreMetrics, Tsdb, TsdbOptions};

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_700_000_000_000 / HOUR * HOUR;

fn open(dir: &std::path::Path, config: StorageConfig, clock: Arc<ManualClock>) -> Tsdb {
    Tsdb::open(TsdbOptions {
        dir: dir.to_path_buf(),
        config,
        queue_capacity: 16,
        retry_after: Duration::from_secs(1),
        clock,
        metrics: StoreMetrics::unregistered(),
    })
    .unwrap()
}

fn series(name: &str, job: &str, samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs([("__name__", name), ("job", job)]).unwrap(),
        samples: samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
    }
}

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

fn all(db: &Tsdb, t: &TenantId) -> Vec<(String, Vec<(i64, f64)>)> {
    db.select(
        t,
        &[Matcher::new("__name__", MatchOp::Regex, ".+").unwrap()],
        i64::MIN,
        i64::MAX,
    )
    .unwrap()
    .into_iter()
    .map(|s| {
        (
            s.labels.to_string(),
            s.samples
                .iter()
                .map(|x| (x.timestamp_ms, x.value))
                .collect(),
        )
    })
    .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn acknowledged_writes_survive_reopen_and_tenants_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let rt = rt();
    {
        let db = open(dir.path(), StorageConfig::default(), clock.clone());
        for i in 0..50 {
            let t = T0 + i * 15_000;
            let out = rt
                .block_on(db.append(MetricBatch::new(
                    tenant("bank-a"),
                    vec![
                        series("up", "api", &[(t, 1.0)]),
                        series("loans", "api", &[(t, i as f64)]),
                    ],
                )))
                .unwrap();
            assert_eq!(out.accepted, 2);
        }
        rt.block_on(db.append(MetricBatch::new(
            tenant("bank-b"),
            vec![series("up", "api", &[(T0, 0.0)])],
        )))
        .unwrap();
        // No close: the process "dies" here with only the log on disk.
        std::mem::forget(db);
    }
    let db = open(dir.path(), StorageConfig::default(), clock);
    let a = all(&db, &tenant("bank-a"));
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].0, "loans{job=\"api\"}");
    assert_eq!(a[0].1.len(), 50);
    assert_eq!(a[0].1[49], (T0 + 49 * 15_000, 49.0));
    let b = all(&db, &tenant("bank-b"));
    assert_eq!(b, vec![("up{job=\"api\"}".to_string(), vec![(T0, 0.0)])]);
    assert!(all(&db, &tenant("bank-c")).is_empty());
    assert_eq!(
        db.label_values(&tenant("bank-b"), "__name__", &[], i64::MIN, i64::MAX),
        vec!["up"]
    );
}

#[test]
fn out_of_order_and_conflicting_samples_are_refused_and_counted_retries_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        StorageConfig::default(),
        Arc::new(ManualClock::at(T0)),
    );
    let rt = rt();
    let t = tenant("default");
    rt.block_on(db.append(MetricBatch::new(
        t.clone(),
        vec![series("up", "a", &[(T0, 1.0), (T0 + 10, 1.0)])],
    )))
    .unwrap();
    let out = rt
        .block_on(db.append(MetricBatch::new(
            t.clone(),
            vec![series(
                "up",
                "a",
                &[
                    (T0 + 10, 1.0),
                    (T0 + 5, 1.0),
                    (T0 + 10, 2.0),
                    (T0 + 20, 3.0),
                ],
            )],
        )))
        .unwrap();
    assert_eq!(out.accepted, 2, "{out:?}");
    let reasons: Vec<_> = out.rejected.iter().map(|r| (r.reason, r.samples)).collect();
    assert_eq!(
        reasons,
        vec![
            (RejectReason::DuplicateTimestamp, 1),
            (RejectReason::OutOfOrder, 1)
        ]
    );
    assert!(
        out.rejected[1].example.contains("up{job=\"a\"}"),
        "{:?}",
        out.rejected
    );
    assert_eq!(
        all(&db, &t)[0].1,
        vec![(T0, 1.0), (T0 + 10, 1.0), (T0 + 20, 3.0)]
    );
}

#[test]
fn series_limit_refuses_new_series_but_keeps_existing_ones_flowing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StorageConfig::default();
    config.limits.max_series = 2;
    let db = open(dir.path(), config, Arc::new(ManualClock::at(T0)));
    let rt = rt();
    let t = tenant("default");
    rt.block_on(db.append(MetricBatch::new(
        t.clone(),
        vec![
            series("a", "x", &[(T0, 1.0)]),
            series("b", "x", &[(T0, 1.0)]),
        ],
    )))
    .unwrap();
    let out = rt
        .block_on(db.append(MetricBatch::new(
            t.clone(),
            vec![
                series("a", "x", &[(T0 + 1, 2.0)]),
                series("c", "x", &[(T0 + 1, 1.0)]),
            ],
        )))
        .unwrap();
    assert_eq!(out.accepted, 1);
    assert_eq!(out.rejected[0].reason, RejectReason::SeriesLimit);
    assert_eq!(db.head_series(), 2);
}

#[test]
fn cut_blocks_and_compaction_keep_every_sample_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let config = StorageConfig {
        block_duration: Duration::from_secs(3600),
        retention: Duration::from_secs(100 * 3600),
        ..Default::default()
    };
    let rt = rt();
    let t = tenant("default");
    let expected: Vec<(i64, f64)> = (0..8 * 60).map(|m| (T0 + m * 60_000, m as f64)).collect();
    {
        let db = open(dir.path(), config.clone(), clock.clone());
        for chunk in expected.chunks(30) {
            rt.block_on(db.append(MetricBatch::new(t.clone(), vec![series("m", "x", chunk)])))
                .unwrap();
        }
        // 8 hours of data with 1h blocks: everything older than 1.5h behind the head is cut.
        let report = db.maintain().unwrap();
        assert!(report.blocks_cut >= 6, "{report:?}");
        assert!(report.compactions >= 1, "{report:?}");
        assert_eq!(all(&db, &t)[0].1, expected);
        assert!(db.blocks().iter().any(|b| b.level >= 1));
        std::mem::forget(db);
    }
    let db = open(dir.path(), config.clone(), clock.clone());
    assert_eq!(all(&db, &t)[0].1, expected);
    // Everything into blocks now, then merge them all.
    db.cut_blocks(true).unwrap();
    db.compact(true).unwrap();
    assert_eq!(db.head_series(), 0);
    assert_eq!(all(&db, &t)[0].1, expected);
    drop(db);
    let db = open(dir.path(), config, clock);
    assert_eq!(all(&db, &t)[0].1, expected);
}

#[test]
fn retention_deletes_old_blocks_by_time_and_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let mut config = StorageConfig {
        block_duration: Duration::from_secs(3600),
        retention: Duration::from_secs(10 * 3600),
        ..Default::default()
    };
    let rt = rt();
    let t = tenant("default");
    let db = open(dir.path(), config.clone(), clock.clone());
    for h in 0..6 {
        let samples: Vec<(i64, f64)> = (0..60)
            .map(|m| (T0 + h * HOUR + m * 60_000, m as f64))
            .collect();
        rt.block_on(db.append(MetricBatch::new(
            t.clone(),
            vec![series("m", "x", &samples)],
        )))
        .unwrap();
        db.cut_blocks(true).unwrap();
    }
    assert_eq!(db.blocks().len(), 6);
    clock.set_ms(T0 + 12 * HOUR + 1);
    assert_eq!(db.apply_retention().unwrap(), 2);
    let left = all(&db, &t)[0].1.clone();
    assert_eq!(left.first().map(|s| s.0), Some(T0 + 2 * HOUR));
    drop(db);

    config.retention_size = ByteSize(1);
    let db = open(dir.path(), config, clock);
    assert_eq!(db.apply_retention().unwrap(), 4);
    assert!(all(&db, &t).is_empty());
}

#[test]
fn a_full_queue_refuses_instead_of_buffering() {
    use taishan_core::AppendError;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        Tsdb::open(TsdbOptions {
            dir: dir.path().to_path_buf(),
            config: StorageConfig::default(),
            queue_capacity: 1,
            retry_after: Duration::from_secs(7),
            clock: Arc::new(ManualClock::at(T0)),
            metrics: StoreMetrics::unregistered(),
        })
        .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let big: Vec<SeriesSamples> = (0..2000)
        .map(|i| series("m", &format!("j{i}"), &[(T0, 1.0)]))
        .collect();
    let results = rt.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..32 {
            let db = db.clone();
            let mut batch = big.clone();
            for s in &mut batch {
                s.samples[0].timestamp_ms += k;
            }
            tasks.push(tokio::spawn(async move {
                db.append(MetricBatch::new(tenant("default"), batch)).await
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(AppendError::Overloaded { retry_after }) if retry_after.as_secs() == 7))
        .count();
    assert!(
        refused > 0,
        "a queue of one must refuse some of 32 concurrent batches"
    );
    assert!(results.iter().any(|r| r.is_ok()));
}

#[test]
fn forced_cuts_with_the_same_aligned_start_compact_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let rt = rt();
    let t = tenant("default");
    let start = T0 + 1_000_000;
    let db = open(dir.path(), StorageConfig::default(), clock.clone());
    let batch = |from: i64, to: i64| -> Vec<(i64, f64)> {
        (from..to).map(|i| (start + i * 1000, i as f64)).collect()
    };
    rt.block_on(db.append(MetricBatch::new(
        t.clone(),
        vec![series("m", "x", &batch(0, 50))],
    )))
    .unwrap();
    // A crash and replay before the first cut.
    std::mem::forget(db);
    let db = open(dir.path(), StorageConfig::default(), clock.clone());
    assert_eq!(db.cut_blocks(true).unwrap(), 1);
    rt.block_on(db.append(MetricBatch::new(
        t.clone(),
        vec![series("m", "x", &batch(50, 80))],
    )))
    .unwrap();
    assert_eq!(db.cut_blocks(true).unwrap(), 1);
    assert_eq!(db.compact(true).unwrap(), 1);
    rt.block_on(db.append(MetricBatch::new(
        t.clone(),
        vec![series("m", "x", &batch(80, 100))],
    )))
    .unwrap();
    assert_eq!(all(&db, &t)[0].1, batch(0, 100));
    std::mem::forget(db);
    let db = open(dir.path(), StorageConfig::default(), clock);
    assert_eq!(db.blocks().len(), 1);
    assert_eq!(all(&db, &t)[0].1, batch(0, 100));
}

#[test]
fn blocks_keep_awkward_values_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let rt = rt();
    let t = tenant("default");
    let db = open(dir.path(), StorageConfig::default(), clock.clone());
    let values = [
        0.1 + 0.2,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::from_bits(taishan_core::STALE_NAN_BITS),
        1e300,
        12.5,
    ];
    let samples: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (T0 + i as i64 * 1000, *v))
        .collect();
    let decimals: Vec<(i64, f64)> = (0..300)
        .map(|i| (T0 + i * 1000, 100.0 + i as f64 * 0.25))
        .collect();
    rt.block_on(db.append(MetricBatch::new(
        t.clone(),
        vec![
            series("awkward", "x", &samples),
            series("decimal", "x", &decimals),
        ],
    )))
    .unwrap();
    db.cut_blocks(true).unwrap();
    drop(db);
    let db = open(dir.path(), StorageConfig::default(), clock);
    let got = all(&db, &t);
    let bits = |v: &[(i64, f64)]| v.iter().map(|(t, x)| (*t, x.to_bits())).collect::<Vec<_>>();
    assert_eq!(got[0].0, "awkward{job=\"x\"}");
    assert_eq!(bits(&got[0].1), bits(&samples));
    assert_eq!(bits(&got[1].1), bits(&decimals));
}
