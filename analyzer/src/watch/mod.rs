//! Watching live series: at every tick each watch's query is answered, each series of the
//! answer is fed to its own detector, and the verdicts go back into the store as series, so
//! rules alert on them and dashboards draw them like any metric.
//!
//! For a source series `{__name__="m", a="b"}` of the watch `w`, four series are written:
//! `taishan_anomaly_score`, `taishan_anomaly_expected`, `taishan_anomaly_lower` and
//! `taishan_anomaly_upper`, each with the labels `{a="b", metric="m", watch="w"}` (the
//! analyzer's `metric` and `watch` replace source labels of those names).

mod state;

use std::collections::BTreeMap;

use crate::config::{AnalyzerConfig, WatchConfig};
use taishan_core::{Labels, Sample, METRIC_NAME};

use crate::detectors::{Detector, DetectorConfig, Point, Verdict};

pub use state::{WatcherState, STATE_VERSION};

/// The series written for every watched series.
pub const SCORE_METRIC: &str = "taishan_anomaly_score";
pub const EXPECTED_METRIC: &str = "taishan_anomaly_expected";
pub const LOWER_METRIC: &str = "taishan_anomaly_lower";
pub const UPPER_METRIC: &str = "taishan_anomaly_upper";
/// The series written for a watch with a forecast horizon.
pub const FORECAST_METRIC: &str = "taishan_forecast";
pub const FORECAST_LOWER_METRIC: &str = "taishan_forecast_lower";
pub const FORECAST_UPPER_METRIC: &str = "taishan_forecast_upper";

/// A query's answer at one instant: each series' labels and value, or why it failed.
pub type Answer = Result<Vec<(Labels, f64)>, String>;

/// A watch ready to run: its query and the detector each of its series gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub name: String,
    pub query: String,
    pub detector: DetectorConfig,
    /// How far ahead a forecast is written, if at all.
    pub forecast: Option<std::time::Duration>,
}

impl Watch {
    /// Reads a watch's configuration; the error says what is wrong with its detector.
    pub fn from_config(config: &WatchConfig) -> Result<Watch, String> {
        let detector = match &config.detector {
            None => DetectorConfig::default(),
            Some(value) => DetectorConfig::from_yaml(value.clone())?,
        };
        Ok(Watch {
            name: config.name.clone(),
            query: config.query.clone(),
            detector,
            forecast: config.forecast,
        })
    }
}

/// One series being watched.
struct Tracked {
    detector: Box<dyn Detector>,
    last_seen_ms: i64,
    last: Verdict,
    /// The source value last scored.
    value: f64,
}

/// The latest verdict on one watched series, as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeriesStatus {
    pub watch: String,
    /// The source series' labels.
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub score: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    /// When it was last scored (ms).
    pub at_ms: i64,
}

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// The verdicts as series, to be written to the store.
    pub samples: Vec<(Labels, Sample)>,
    /// Series scored.
    pub scored: usize,
    /// Series not taken on because `max_series` was reached.
    pub refused: usize,
    /// Series forgotten because their watch no longer answered with them.
    pub forgotten: usize,
    /// Watches whose query failed, with the error.
    pub failed: Vec<(String, String)>,
}

/// Every watch and the detectors of their series.
pub struct Watcher {
    watches: Vec<Watch>,
    max_series: usize,
    forget_after_ms: i64,
    /// (watch index, source labels) → its detector.
    series: BTreeMap<(usize, Labels), Tracked>,
}

impl Watcher {
    /// A watcher over `watches`, within `config`'s limits.
    pub fn new(watches: Vec<Watch>, config: &AnalyzerConfig) -> Self {
        Watcher {
            watches,
            max_series: config.max_series,
            forget_after_ms: config.forget_after.as_millis() as i64,
            series: BTreeMap::new(),
        }
    }

    /// The watches, in configuration order.
    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    /// Series watched now.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Bytes of detector state held over all series.
    pub fn memory_bytes(&self) -> usize {
        self.series
            .values()
            .map(|t| t.detector.memory_bytes())
            .sum()
    }

    /// Scores every watch's answer at `now_ms`; `answer` evaluates a query at that instant.
    pub fn tick(&mut self, now_ms: i64, answer: &mut dyn FnMut(&str) -> Answer) -> TickReport {
        let mut report = TickReport::default();
        for index in 0..self.watches.len() {
            let query = self.watches[index].query.clone();
            match answer(&query) {
                Ok(vector) => {
                    for (labels, value) in vector {
                        self.score(index, labels, value, now_ms, &mut report);
                    }
                }
                Err(e) => report.failed.push((self.watches[index].name.clone(), e)),
            }
        }
        let before = self.series.len();
        let cutoff = now_ms - self.forget_after_ms;
        self.series.retain(|_, t| t.last_seen_ms >= cutoff);
        report.forgotten = before - self.series.len();
        report
    }

    fn score(
        &mut self,
        index: usize,
        labels: Labels,
        value: f64,
        now_ms: i64,
        report: &mut TickReport,
    ) {
        let key = (index, labels);
        if !self.series.contains_key(&key) {
            if self.series.len() >= self.max_series {
                report.refused += 1;
                return;
            }
            let watch = &self.watches[index];
            let detector = watch.detector.build(series_seed(&watch.name, &key.1));
            self.series.insert(
                key.clone(),
                Tracked {
                    detector,
                    last_seen_ms: now_ms,
                    last: Verdict::unknown(value),
                    value,
                },
            );
        }
        let Some(tracked) = self.series.get_mut(&key) else {
            return;
        };
        let verdict = tracked.detector.observe(Point {
            time: now_ms.div_euclid(1000),
            value,
        });
        tracked.last_seen_ms = now_ms;
        tracked.last = verdict;
        tracked.value = value;
        report.scored += 1;
        if !value.is_finite() {
            return;
        }
        let watch = &self.watches[index];
        let mut base = output_labels(&watch.name, &key.1);
        let mut out = vec![
            (SCORE_METRIC, verdict.score),
            (EXPECTED_METRIC, verdict.expected),
            (LOWER_METRIC, verdict.lower),
            (UPPER_METRIC, verdict.upper),
        ];
        let ahead = watch.forecast.and_then(|h| {
            let at = now_ms.div_euclid(1000) + h.as_secs() as i64;
            tracked.detector.forecast(at).map(|f| (h, f))
        });
        push_samples(&mut report.samples, &base, &out, now_ms);
        if let Some((h, f)) = ahead {
            base.push(("horizon".into(), humantime::format_duration(h).to_string()));
            out = vec![
                (FORECAST_METRIC, f.value),
                (FORECAST_LOWER_METRIC, f.lower),
                (FORECAST_UPPER_METRIC, f.upper),
            ];
            push_samples(&mut report.samples, &base, &out, now_ms);
        }
    }

    /// The latest verdict of every series of `watch` (all watches when `None`).
    pub fn status(&self, watch: Option<&str>) -> Vec<SeriesStatus> {
        self.series
            .iter()
            .filter(|((i, _), _)| watch.is_none_or(|w| self.watches[*i].name == w))
            .map(|((i, labels), t)| SeriesStatus {
                watch: self.watches[*i].name.clone(),
                labels: labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                value: t.value,
                score: t.last.score,
                expected: t.last.expected,
                lower: t.last.lower,
                upper: t.last.upper,
                at_ms: t.last_seen_ms,
            })
            .collect()
    }
}

fn push_samples(
    into: &mut Vec<(Labels, Sample)>,
    base: &[(String, String)],
    values: &[(&str, f64)],
    now_ms: i64,
) {
    for &(metric, value) in values {
        if let Some(labels) = with_name(base, metric) {
            into.push((
                labels,
                Sample {
                    timestamp_ms: now_ms,
                    value,
                },
            ));
        }
    }
}

/// A seed per series, so two series of a watch do not fit identical models by accident.
fn series_seed(watch: &str, labels: &Labels) -> u64 {
    let mut text = String::from(watch);
    for l in labels.iter() {
        text.push('\u{1}');
        text.push_str(l.name);
        text.push('\u{2}');
        text.push_str(l.value);
    }
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// The source labels without `__name__`, with `metric` (the source name) and `watch`.
fn output_labels(watch: &str, source: &Labels) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = source
        .iter()
        .filter(|l| l.name != METRIC_NAME && l.name != "metric" && l.name != "watch")
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect();
    if let Some(name) = source.metric_name() {
        pairs.push(("metric".into(), name.to_string()));
    }
    pairs.push(("watch".into(), watch.to_string()));
    pairs
}

fn with_name(base: &[(String, String)], metric: &str) -> Option<Labels> {
    let mut pairs: Vec<(&str, &str)> = base.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    pairs.push((METRIC_NAME, metric));
    Labels::from_strs(&mut pairs).ok()
}
