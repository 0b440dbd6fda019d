//! The `Detector` contract, checked for every registered detector on series of the kinds it
//! meets: causal, bounded, deterministic, scores in [0, 1], resumable from a snapshot.

use taishan_analyzer::detectors::{Detector, DetectorConfig, DetectorState, Point};

/// Every detector of the registry, with its default configuration, read as a user writes it.
fn every_detector() -> Vec<DetectorConfig> {
    let every: Vec<DetectorConfig> = DetectorConfig::NAMES
        .iter()
        .map(|name| {
            let yaml = serde_yaml_ng::from_str(&format!("type: {name}")).expect("yaml");
            DetectorConfig::from_yaml(yaml).expect("a registered detector reads")
        })
        .collect();
    assert!(every.len() >= 5, "the registry lost detectors: {every:?}");
    every
}

/// A daily cycle with noise, a level shift at 60% and a spike at 80% (15 s apart).
fn series(n: usize, seed: u64) -> Vec<Point> {
    let mut state = seed;
    let mut noise = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..n)
        .map(|i| {
            let time = 1_700_000_000 + 15 * i as i64;
            let day = (time % 86_400) as f64 / 86_400.0;
            let mut value = 100.0 + 30.0 * (day * std::f64::consts::TAU).sin() + 4.0 * noise();
            if i > n * 6 / 10 {
                value += 40.0;
            }
            if i == n * 8 / 10 {
                value += 200.0;
            }
            Point { time, value }
        })
        .collect()
}

fn scores(detector: &mut dyn Detector, points: &[Point]) -> Vec<f64> {
    points.iter().map(|&p| detector.observe(p).score).collect()
}

/// Fails naming the first point where two runs disagree (not the whole of both).
fn assert_same(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    if let Some(i) = (0..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits()) {
        panic!("{what}: point {i} scored {} and {}", a[i], b[i]);
    }
}

#[test]
fn appending_future_points_never_changes_past_scores() {
    let points = series(6000, 1);
    for config in every_detector() {
        let whole = scores(config.build(7).as_mut(), &points);
        let prefix = scores(config.build(7).as_mut(), &points[..3500]);
        assert_same(&whole[..3500], &prefix, config.name());
    }
}

#[test]
fn scores_are_in_the_unit_interval_and_the_anomaly_stands_out() {
    let points = series(8000, 2);
    for config in every_detector() {
        let s = scores(config.build(7).as_mut(), &points);
        assert!(
            s.iter().all(|x| (0.0..=1.0).contains(x)),
            "{} left [0, 1]",
            config.name()
        );
        let ordinary = s[4000..4800].iter().cloned().fold(0.0, f64::max);
        // The drift member dilutes a lone spike by design: for it, the level shift's onset.
        let (what, loud) = match config.name() {
            "mixture" => continue,
            "drift" => ("shift", s[4801..5000].iter().cloned().fold(0.0, f64::max)),
            _ => ("spike", s[8000 * 8 / 10]),
        };
        assert!(
            loud > ordinary,
            "{}: {what} {loud} vs {ordinary}",
            config.name()
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_scores() {
    let points = series(5000, 3);
    for config in every_detector() {
        let a = scores(config.build(42).as_mut(), &points);
        let b = scores(config.build(42).as_mut(), &points);
        assert_same(&a, &b, config.name());
    }
}

#[test]
fn memory_is_bounded_whatever_the_length() {
    let points = series(20_000, 4);
    for config in every_detector() {
        let mut detector = config.build(7);
        let mut after_warm_up = 0;
        for (i, &p) in points.iter().enumerate() {
            detector.observe(p);
            if i == 5_000 {
                after_warm_up = detector.memory_bytes();
            }
        }
        let end = detector.memory_bytes();
        assert_eq!(end, after_warm_up, "{} grew", config.name());
        assert!(end <= 8 * 1024, "{}: {end} bytes per series", config.name());
    }
}

#[test]
fn a_detector_resumed_from_its_snapshot_scores_as_the_uninterrupted_one() {
    let points = series(7000, 5);
    for config in every_detector() {
        let uninterrupted = scores(config.build(9).as_mut(), &points);
        let mut first = config.build(9);
        let mut resumed_scores = scores(first.as_mut(), &points[..4321]);
        let saved = serde_json::to_string(&first.snapshot()).expect("snapshot serializes");
        drop(first);
        let state: DetectorState = serde_json::from_str(&saved).expect("snapshot reads back");
        let mut resumed = state.resume();
        resumed_scores.extend(scores(resumed.as_mut(), &points[4321..]));
        assert_same(&uninterrupted, &resumed_scores, config.name());
    }
}

#[test]
fn gaps_are_neither_scored_nor_learnt() {
    let points = series(3000, 6);
    for config in every_detector() {
        let clean = scores(config.build(1).as_mut(), &points);
        let mut gappy = config.build(1);
        let mut with_gaps = Vec::new();
        for (i, &p) in points.iter().enumerate() {
            if i % 500 == 250 {
                let gap = gappy.observe(Point {
                    time: p.time,
                    value: f64::NAN,
                });
                assert_eq!(gap.score, 0.0);
            }
            with_gaps.push(gappy.observe(p).score);
        }
        assert_same(&clean, &with_gaps, config.name());
    }
}
