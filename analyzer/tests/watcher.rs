//! The watcher: verdicts written as series with the source's labels, its limits, and its
//! state carried across a restart.

use std::time::Duration;

use taishan_analyzer::watch::{Watch, Watcher, WatcherState, SCORE_METRIC};
use taishan_analyzer::{AnalyzerConfig, WatchConfig};
use taishan_core::Labels;

fn watch(name: &str, detector: Option<&str>) -> Watch {
    Watch::from_config(&WatchConfig {
        name: name.into(),
        query: "payments".into(),
        detector: detector.map(|d| serde_yaml_ng::from_str(d).unwrap()),
        forecast: None,
    })
    .unwrap()
}

/// As an aggregation answers: no metric name.
fn series(channel: &str) -> Labels {
    Labels::from_sorted_unchecked([("channel", channel)].into_iter())
}

/// The value of `channel` at tick `i`: a daily-ish wave with a jump at tick 900.
fn value(channel: &str, i: usize) -> f64 {
    let base = if channel == "icbc" { 100.0 } else { 50.0 };
    let wave = 10.0 * ((i as f64) / 40.0).sin();
    base + wave + if i == 900 { 500.0 } else { 0.0 }
}

fn run(watcher: &mut Watcher, ticks: std::ops::Range<usize>, channels: &[&str]) -> Vec<f64> {
    let mut scores = Vec::new();
    for i in ticks {
        let now = 1_700_000_000_000 + 15_000 * i as i64;
        let report = watcher.tick(now, &mut |_| {
            Ok(channels.iter().map(|c| (series(c), value(c, i))).collect())
        });
        scores.extend(
            report
                .samples
                .iter()
                .filter(|(l, _)| l.metric_name() == Some(SCORE_METRIC))
                .map(|(_, s)| s.value),
        );
    }
    scores
}

#[test]
fn each_series_gets_four_verdict_series_with_its_labels() {
    let mut watcher = Watcher::new(vec![watch("pay", None)], &AnalyzerConfig::default());
    let report = watcher.tick(1_700_000_000_000, &mut |_| Ok(vec![(series("icbc"), 1.0)]));
    let names: Vec<String> = report.samples.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(
        names,
        [
            r#"taishan_anomaly_score{channel="icbc", watch="pay"}"#,
            r#"taishan_anomaly_expected{channel="icbc", watch="pay"}"#,
            r#"taishan_anomaly_lower{channel="icbc", watch="pay"}"#,
            r#"taishan_anomaly_upper{channel="icbc", watch="pay"}"#,
        ]
    );
}

#[test]
fn a_selector_s_metric_name_becomes_the_metric_label() {
    let mut watcher = Watcher::new(vec![watch("pay", None)], &AnalyzerConfig::default());
    let named = Labels::from_pairs([("__name__", "payments"), ("watch", "x")]).unwrap();
    let report = watcher.tick(0, &mut |_| Ok(vec![(named.clone(), 1.0)]));
    assert_eq!(
        report.samples[0].0.to_string(),
        r#"taishan_anomaly_score{metric="payments", watch="pay"}"#
    );
}

#[test]
fn the_jump_is_the_loudest_point() {
    let mut watcher = Watcher::new(vec![watch("pay", None)], &AnalyzerConfig::default());
    let scores = run(&mut watcher, 0..1200, &["icbc"]);
    let loudest = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    assert_eq!(loudest, Some(900));
}

#[test]
fn series_beyond_the_limit_are_refused_and_silent_ones_forgotten() {
    let config = AnalyzerConfig {
        max_series: 2,
        forget_after: Duration::from_secs(60),
        ..AnalyzerConfig::default()
    };
    let mut watcher = Watcher::new(vec![watch("pay", None)], &config);
    let all = ["a", "b", "c"];
    let report = watcher.tick(0, &mut |_| {
        Ok(all.iter().map(|c| (series(c), 1.0)).collect())
    });
    assert_eq!((report.scored, report.refused), (2, 1));
    watcher.tick(30_000, &mut |_| Ok(vec![(series("a"), 1.0)]));
    let report = watcher.tick(90_000, &mut |_| Ok(vec![(series("a"), 1.0)]));
    assert_eq!(report.forgotten, 1, "b was last seen 90 s ago");
    assert_eq!(watcher.series_count(), 1);
}

#[test]
fn a_restarted_watcher_scores_as_if_it_had_never_stopped() {
    let config = AnalyzerConfig::default();
    let channels = ["icbc", "ccb"];
    let mut uninterrupted = Watcher::new(vec![watch("pay", None)], &config);
    let expected = run(&mut uninterrupted, 0..1200, &channels);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("analyzer/state.json");
    let mut first = Watcher::new(vec![watch("pay", None)], &config);
    let mut scores = run(&mut first, 0..700, &channels);
    first.snapshot(0).save(&path).unwrap();
    drop(first);

    let mut second = Watcher::new(vec![watch("pay", None)], &config);
    let state = WatcherState::load(&path).unwrap().expect("saved");
    assert_eq!(second.restore(state), (2, 0));
    scores.extend(run(&mut second, 700..1200, &channels));
    assert_eq!(scores.len(), expected.len());
    let first_difference =
        (0..scores.len()).find(|&i| scores[i].to_bits() != expected[i].to_bits());
    assert_eq!(first_difference, None);
}

#[test]
fn state_learnt_under_another_detector_is_set_aside() {
    let config = AnalyzerConfig::default();
    let mut first = Watcher::new(vec![watch("pay", None)], &config);
    run(&mut first, 0..50, &["icbc"]);
    let state = first.snapshot(0);
    let mut changed = Watcher::new(vec![watch("pay", Some("type: level"))], &config);
    assert_eq!(changed.restore(state), (0, 1));
}

#[test]
fn a_bad_detector_is_named_by_its_field() {
    let err = Watch::from_config(&WatchConfig {
        name: "pay".into(),
        query: "payments".into(),
        detector: Some(serde_yaml_ng::from_str("type: ensemble\nrefractory: soon").unwrap()),
        forecast: None,
    })
    .unwrap_err();
    assert!(err.starts_with("refractory: invalid type"), "{err}");
}

#[test]
fn a_watch_with_a_horizon_writes_its_forecast() {
    let mut w = watch("pay", None);
    w.forecast = Some(Duration::from_secs(3600));
    let mut watcher = Watcher::new(vec![w], &AnalyzerConfig::default());
    run(&mut watcher, 0..30, &["icbc"]);
    let report = watcher.tick(1_700_000_000_000 + 15_000 * 30, &mut |_| {
        Ok(vec![(series("icbc"), value("icbc", 30))])
    });
    let forecast: Vec<String> = report
        .samples
        .iter()
        .filter(|(l, _)| {
            l.metric_name()
                .is_some_and(|n| n.starts_with("taishan_forecast"))
        })
        .map(|(l, s)| format!("{l} {:.0}", s.value.round()))
        .collect();
    assert_eq!(forecast.len(), 3, "{forecast:?}");
    assert!(
        forecast[0].starts_with(r#"taishan_forecast{channel="icbc", horizon="1h", watch="pay"}"#),
        "{forecast:?}"
    );
}
