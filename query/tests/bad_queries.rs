//! Bad queries get clear errors in Prometheus's categories (with the position for syntax
//! errors), limits are enforced as errors, and no expression makes the engine panic.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use taishan_core::{
    Labels, ManualClock, MetricBatch, Sample, SeriesSamples, SystemClock, TenantId,
};
use taishan_query::QueryConfig;
use taishan_query::{Engine, QueryError};
use taishan_store::StorageConfig;
use taishan_store::{StoreMetrics, Tsdb, TsdbOptions};

const MIN: i64 = 60_000;

fn store(dir: &std::path::Path) -> Arc<Tsdb> {
    let db = Tsdb::open(TsdbOptions {
        dir: dir.to_path_buf(),
        config: StorageConfig::default(),
        queue_capacity: 4,
        retry_after: Duration::from_secs(1),
        clock: Arc::new(ManualClock::at(0)),
        metrics: StoreMetrics::unregistered(),
    })
    .unwrap();
    let mut series = Vec::new();
    for (name, labels) in [
        ("m1", vec![("a", "x")]),
        ("m1", vec![("a", "y")]),
        ("m2", vec![("a", "x"), ("b", "1")]),
        ("m2_bucket", vec![("le", "0.5")]),
        ("m2_bucket", vec![("le", "+Inf")]),
    ] {
        let mut pairs = vec![("__name__", name)];
        pairs.extend(labels);
        series.push(SeriesSamples {
            labels: Labels::from_pairs(pairs).unwrap(),
            samples: (0..40)
                .map(|i| Sample::new(i * 15_000, (i * 3 % 7) as f64))
                .collect(),
        });
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(db.append(MetricBatch::new(TenantId::default(), series)))
        .unwrap();
    Arc::new(db)
}

fn engine(db: &Arc<Tsdb>, limits: QueryConfig) -> Engine {
    Engine::new(db.clone(), limits, Arc::new(SystemClock))
}

#[test]
fn bad_queries_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let e = engine(&db, QueryConfig::default());
    let t = TenantId::default();
    let cases: &[(&str, &str)] = &[
        (
            "sum(rate(m1[5m])",
            "1:4: parse error: unclosed left parenthesis",
        ),
        ("m1 +", "1:5: parse error: unexpected end of input"),
        ("m1 +* 2", "1:5: parse error"),
        (
            "unknown_fn(m1)",
            "1:1: parse error: unknown function with name 'unknown_fn'",
        ),
        (
            "rate(m1)",
            "1:1: parse error: expected type matrix in call to function 'rate'",
        ),
        ("m1{a=~\"(\"}", "parse error: illegal regex"),
        (
            "1 > 2",
            "comparisons between scalars must use BOOL modifier",
        ),
        (
            "m1 and 1",
            "set operator 'and' not allowed in binary scalar expression",
        ),
    ];
    for (q, want) in cases {
        match e.instant(&t, q, 10 * MIN) {
            Err(QueryError::BadData(msg)) => assert!(msg.contains(want), "{q}: {msg}"),
            other => panic!("{q}: expected bad_data, got {other:?}"),
        }
    }
    // Matching errors are execution errors, as in Prometheus.
    match e.instant(&t, "m1 + on() m1", 5 * MIN) {
        Err(QueryError::Execution(msg)) => {
            assert!(msg.contains("many-to-many matching not allowed"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    // Too many points per series.
    match e.range(&t, "m1", 0, 100_000_000, 1_000) {
        Err(QueryError::BadData(msg)) => assert!(
            msg.contains("exceeded maximum resolution of 11,000 points"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    match e.range(&t, "m1[5m]", 0, 1000, 1000) {
        Err(QueryError::BadData(msg)) => assert!(
            msg.contains("invalid expression type \"range vector\""),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn limits_fail_queries_instead_of_exhausting_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let t = TenantId::default();
    let tight = engine(
        &db,
        QueryConfig {
            max_samples: 50,
            ..QueryConfig::default()
        },
    );
    assert!(matches!(
        tight.range(&t, "m1", 0, 10 * MIN, 15_000),
        Err(QueryError::TooManySamples)
    ));
    assert!(
        tight.instant(&t, "m2", 5 * MIN).is_ok(),
        "a small query still fits"
    );
    let instant_timeout = engine(
        &db,
        QueryConfig {
            timeout: Duration::ZERO,
            ..QueryConfig::default()
        },
    );
    assert!(matches!(
        instant_timeout.instant(&t, "sum(m1)", 5 * MIN),
        Err(QueryError::Timeout(_))
    ));
}

/// Expressions built from PromQL's grammar over the test series: any of them must give a
/// result or an error, never a panic.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("m1".to_string()),
        Just("m2{b=\"1\"}".to_string()),
        Just("m1{a=~\"x|y\"}".to_string()),
        Just("m2_bucket".to_string()),
        Just("nothing".to_string()),
        (-3.0f64..3.0).prop_map(|v| format!("{v}")),
        Just("NaN".to_string()),
        Just("time()".to_string()),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        let ops = prop_oneof![
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("%"),
            Just("^"),
            Just("atan2"),
            Just("=="),
            Just("!="),
            Just(">"),
            Just("<="),
            Just("> bool"),
            Just("and"),
            Just("or"),
            Just("unless"),
            Just("+ on(a)"),
            Just("* ignoring(b) group_left"),
            Just("/ on(a) group_right(b)"),
        ];
        let aggs = prop_oneof![
            Just("sum"),
            Just("avg"),
            Just("min"),
            Just("max"),
            Just("count"),
            Just("group"),
            Just("stddev"),
            Just("stdvar"),
        ];
        let param_aggs = prop_oneof![
            Just("topk"),
            Just("bottomk"),
            Just("quantile"),
            Just("limitk"),
            Just("limit_ratio")
        ];
        let vec_fns = prop_oneof![
            Just("abs"),
            Just("ceil"),
            Just("sqrt"),
            Just("ln"),
            Just("exp"),
            Just("sgn"),
            Just("sort"),
            Just("sort_desc"),
            Just("absent"),
            Just("timestamp"),
            Just("hour"),
            Just("scalar"),
            Just("round"),
        ];
        let range_fns = prop_oneof![
            Just("rate"),
            Just("increase"),
            Just("delta"),
            Just("irate"),
            Just("idelta"),
            Just("deriv"),
            Just("changes"),
            Just("resets"),
            Just("avg_over_time"),
            Just("max_over_time"),
            Just("stddev_over_time"),
            Just("mad_over_time"),
            Just("last_over_time"),
            Just("absent_over_time"),
        ];
        let range = prop_oneof![
            Just("[1m]"),
            Just("[5m]"),
            Just("[5m:1m]"),
            Just("[10m:30s] offset 1m"),
            Just("[2m] @ 300")
        ];
        prop_oneof![
            (inner.clone(), ops, inner.clone()).prop_map(|(l, op, r)| format!("({l}) {op} ({r})")),
            (aggs, prop::bool::ANY, inner.clone()).prop_map(|(a, by, e)| {
                if by {
                    format!("{a} by (a) ({e})")
                } else {
                    format!("{a} without (b) ({e})")
                }
            }),
            (param_aggs, -2.0f64..4.0, inner.clone())
                .prop_map(|(a, k, e)| format!("{a}({k}, {e})")),
            (vec_fns, inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            (range_fns, inner.clone(), range).prop_map(|(f, e, r)| format!("{f}(({e}){r})")),
            inner
                .clone()
                .prop_map(|e| format!("histogram_quantile(0.9, {e})")),
            inner
                .clone()
                .prop_map(|e| format!("label_replace({e}, \"c\", \"$1\", \"a\", \"(.*)\")")),
            inner
                .clone()
                .prop_map(|e| format!("count_values(\"v\", {e})")),
            inner.clone().prop_map(|e| format!("-({e})")),
            inner.prop_map(|e| format!("({e}) offset -1m")),
        ]
    })
}

#[test]
fn no_expression_makes_the_engine_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let e = engine(&db, QueryConfig::default());
    let t = TenantId::default();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let answered = std::cell::Cell::new(0);
    runner
        .run(&expression(), |q| {
            if e.instant(&t, &q, 8 * MIN).is_ok() {
                answered.set(answered.get() + 1);
            }
            let _ = e.range(&t, &q, 0, 10 * MIN, 45_000);
            Ok(())
        })
        .unwrap();
    // The generator must mostly produce valid queries, or it tests only the parser.
    assert!(
        answered.get() > 150,
        "only {} of 400 generated queries evaluated",
        answered.get()
    );
    // And arbitrary text only ever fails to parse.
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    runner
        .run(&"[ -~]{0,40}", |q| {
            let _ = e.instant(&t, &q, 8 * MIN);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_query_nested_too_deeply_is_refused_before_it_is_built_and_one_at_the_limit_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let e = engine(&db, QueryConfig::default());
    let t = TenantId::default();
    // Ten thousand terms used to overflow the stack and abort the process.
    for q in [
        format!("1{}", "+1".repeat(10_000)),
        format!("{}m1{}", "-(".repeat(5_000), ")".repeat(5_000)),
    ] {
        match e.instant(&t, &q, 10 * MIN) {
            Err(QueryError::BadData(msg)) => {
                assert!(
                    msg.contains("nests too deeply") && msg.contains("the limit is 300"),
                    "{msg}"
                )
            }
            other => panic!("expected bad_data, got {other:?}"),
        }
    }
    // At the limit: evaluated on a thread with the stack of tokio's blocking pool (2 MiB).
    let at_limit = format!("1{}", "+1".repeat(300));
    let answer = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || format!("{:?}", e.instant(&t, &at_limit, 10 * MIN).map(|o| o.value)))
        .unwrap()
        .join()
        .expect("no stack overflow at the limit");
    assert!(answer.contains("301"), "{answer}");
}

#[test]
fn a_subquery_grid_is_capped_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let e = engine(&db, QueryConfig::default());
    let t = TenantId::default();
    // 86.4 billion steps: this grew the process to 24 GB before the OOM killer ended it.
    match e.instant(&t, "count_over_time(vector(1)[1000d:1ms])", 10 * MIN) {
        Err(QueryError::BadData(msg)) => {
            assert!(msg.contains("subquery") && msg.contains("11,000"), "{msg}")
        }
        other => panic!("expected bad_data, got {other:?}"),
    }
    // Each window within the cap, but the whole grid under a day-long range query is not:
    // the sample budget refuses it before the grid is evaluated.
    let tight = engine(
        &db,
        QueryConfig {
            max_samples: 10_000,
            ..QueryConfig::default()
        },
    );
    assert!(matches!(
        tight.range(
            &t,
            "max_over_time(vector(1)[1m:10ms])",
            0,
            1440 * MIN,
            10 * MIN
        ),
        Err(QueryError::TooManySamples)
    ));
    // An ordinary subquery still answers.
    let out = e
        .instant(&t, "count_over_time(vector(1)[10m:1m])", 10 * MIN)
        .unwrap();
    assert!(format!("{:?}", out.value).contains("10"), "{:?}", out.value);
}

#[test]
fn extreme_times_durations_and_offsets_answer_without_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let e = engine(&db, QueryConfig::default());
    let t = TenantId::default();
    let queries = [
        "m1",
        "rate(m1[5m])",
        "m1 offset -300000000y",
        "m1 offset 300000000y",
        "m1[300000000y]",
        "count_over_time(m1[300000000y])",
        "max_over_time(m1[300000000y:1y])",
        "m1 @ 9999999999999",
        "timestamp(m1 @ -9999999999999)",
        "time()",
        "vector(time()) offset 1d",
    ];
    for at in [i64::MIN, -i64::MAX / 2, 0, i64::MAX / 2, i64::MAX] {
        for q in queries {
            // Any answer or error will do; a panic (overflow) or a hang will not.
            let _ = e.instant(&t, q, at);
            let _ = e.range(&t, q, at.saturating_sub(60_000), at, 15_000);
        }
    }
    for (start, end) in [(i64::MIN, i64::MAX), (-i64::MAX, i64::MAX), (0, i64::MAX)] {
        match e.range(&t, "m1", start, end, 1) {
            Err(QueryError::BadData(msg)) => {
                assert!(msg.contains("exceeded maximum resolution"), "{msg}")
            }
            other => panic!("expected bad_data, got {other:?}"),
        }
    }
}
