//! The watcher's state on disk: every series' detector, so a restart goes on scoring where
//! it stopped instead of learning each series again.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use taishan_core::Labels;

use super::{Tracked, Watcher};
use crate::detectors::{DetectorConfig, DetectorState, Verdict};

/// The format written; a file of another version is set aside, not misread.
/// (2: the level and seasonal members keep a tail per side; 3: tails in single precision,
/// and the ensemble's drift member.)
pub const STATE_VERSION: u32 = 3;

/// Everything the watcher knows, as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatcherState {
    pub version: u32,
    /// When it was taken (ms).
    pub saved_ms: i64,
    series: Vec<SavedSeries>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedSeries {
    watch: String,
    /// The detector configuration the state was learnt under; a state learnt under another
    /// one is not resumed.
    detector: DetectorConfig,
    labels: Vec<(String, String)>,
    last_seen_ms: i64,
    value: f64,
    last: [f64; 4],
    state: DetectorState,
}

impl WatcherState {
    /// Series in the state.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Reads a saved state; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<WatcherState>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let state: WatcherState =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if state.version != STATE_VERSION {
            return Err(format!(
                "{}: state version {} (this build reads {STATE_VERSION})",
                path.display(),
                state.version
            ));
        }
        Ok(Some(state))
    }

    /// Writes the state whole or not at all (a temporary file renamed over the old one).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        serde_json::to_writer(&mut file, self)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

impl Watcher {
    /// Everything to save, taken at `now_ms`.
    pub fn snapshot(&self, now_ms: i64) -> WatcherState {
        let series = self
            .series
            .iter()
            .map(|((i, labels), t)| SavedSeries {
                watch: self.watches[*i].name.clone(),
                detector: self.watches[*i].detector.clone(),
                labels: labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                last_seen_ms: t.last_seen_ms,
                value: t.value,
                last: [t.last.score, t.last.expected, t.last.lower, t.last.upper],
                state: t.detector.snapshot(),
            })
            .collect();
        WatcherState {
            version: STATE_VERSION,
            saved_ms: now_ms,
            series,
        }
    }

    /// Resumes the series of `state` whose watch still exists with the same detector;
    /// returns (resumed, set aside).
    pub fn restore(&mut self, state: WatcherState) -> (usize, usize) {
        let (mut resumed, mut dropped) = (0, 0);
        for saved in state.series {
            let index = self
                .watches
                .iter()
                .position(|w| w.name == saved.watch && w.detector == saved.detector);
            // Saved from a label set, so sorted and unique; an aggregation's answer may have
            // no metric name, which `Labels::new` would refuse.
            let mut pairs = saved.labels;
            pairs.sort();
            pairs.dedup_by(|a, b| a.0 == b.0);
            let labels =
                Labels::from_sorted_unchecked(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            match index {
                Some(index) if self.series.len() < self.max_series => {
                    let [score, expected, lower, upper] = saved.last;
                    self.series.insert(
                        (index, labels),
                        Tracked {
                            detector: saved.state.resume(),
                            last_seen_ms: saved.last_seen_ms,
                            last: Verdict {
                                score,
                                expected,
                                lower,
                                upper,
                            },
                            value: saved.value,
                        },
                    );
                    resumed += 1;
                }
                _ => dropped += 1,
            }
        }
        (resumed, dropped)
    }
}
