//! NAB's scoring, restated from the benchmark's description (`README.md` beside the corpus):
//! probation, window-position weights, one threshold swept over the whole corpus per cost
//! profile, and the normalisation against the null and perfect detectors.

use std::path::Path;

use serde::Deserialize;

use super::corpus::{CorpusError, NabFile};

/// The weights of one cost profile (`profiles.json`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct CostMatrix {
    #[serde(rename = "tpWeight")]
    pub tp: f64,
    #[serde(rename = "fnWeight")]
    pub fn_: f64,
    #[serde(rename = "fpWeight")]
    pub fp: f64,
}

/// A named cost profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub costs: CostMatrix,
}

/// The three profiles in the corpus' `profiles.json`, in the benchmark's order.
pub fn load_profiles(root: &Path) -> Result<Vec<Profile>, CorpusError> {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "CostMatrix")]
        costs: CostMatrix,
    }
    let path = root.join("profiles.json");
    let text = std::fs::read_to_string(&path).map_err(|source| CorpusError::Io {
        path: path.clone(),
        source,
    })?;
    let entries: std::collections::BTreeMap<String, Entry> =
        serde_json::from_str(&text).map_err(|e| CorpusError::Labels {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let order = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"];
    order
        .iter()
        .map(|name| {
            entries
                .get(*name)
                .map(|e| Profile {
                    name: name.to_string(),
                    costs: e.costs,
                })
                .ok_or_else(|| CorpusError::Labels {
                    path: path.clone(),
                    reason: format!("profile {name} is missing"),
                })
        })
        .collect()
}

/// NAB's scaled sigmoid of a relative position: 1 well before, 0 at the right edge of a
/// window, towards -1 after it, and -1 beyond three window widths.
pub fn scaled_sigmoid(position: f64) -> f64 {
    if position > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * position).exp()) - 1.0
    }
}

/// Rows not scored at the head of a file.
pub fn probation_rows(rows: usize) -> usize {
    ((0.15 * rows as f64).floor() as usize).min(750)
}

/// What a detection at one row is worth before the profile's weights: inside a window the
/// (positive) position weight, outside one the (negative) false-positive weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowWeight {
    pub weight: f64,
    /// Index of the window in the whole corpus, when the row is inside one.
    pub window: Option<u32>,
}

/// The weight of every scored row of `file` (probation rows are `None`); windows are numbered
/// from `first_window`.
pub fn row_weights(file: &NabFile, first_window: u32) -> Vec<Option<RowWeight>> {
    let probation = probation_rows(file.len());
    let mut out = Vec::with_capacity(file.len());
    let mut previous_end: Option<(usize, f64)> = None;
    let mut windows = file.windows.iter().enumerate().peekable();
    let mut current: Option<(u32, usize, f64)> = None;
    for row in 0..file.len() {
        if current.is_none() {
            if let Some(&(index, &(start, end))) = windows.peek() {
                if row == start {
                    current = Some((first_window + index as u32, end, (end - start + 1) as f64));
                    windows.next();
                }
            }
        }
        let weight = match current {
            Some((window, end, width)) => {
                let position = -((end - row + 1) as f64) / width;
                RowWeight {
                    weight: scaled_sigmoid(position),
                    window: Some(window),
                }
            }
            None => {
                let weight = match previous_end {
                    None => -1.0,
                    Some((end, width)) => {
                        scaled_sigmoid((row - end) as f64 / (width - 1.0).max(1.0))
                    }
                };
                RowWeight {
                    weight,
                    window: None,
                }
            }
        };
        out.push((row >= probation).then_some(weight));
        if let Some((_, end, width)) = current {
            if row == end {
                previous_end = Some((end, width));
                current = None;
            }
        }
    }
    out
}

/// One scored row of the corpus: the detector's score and what a detection there is worth.
#[derive(Debug, Clone, Copy)]
pub struct ScoredRow {
    pub score: f64,
    pub weight: RowWeight,
}

/// The best total of one profile over every threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileResult {
    pub profile: String,
    /// The lowest score counted as a detection.
    pub threshold: f64,
    /// The raw total, S.
    pub raw: f64,
    /// `100 * (S - S_null) / (S_perfect - S_null)`.
    pub normalized: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
}

/// Normalises a raw total against the null and perfect detectors.
pub fn normalize(raw: f64, windows: usize, costs: &CostMatrix) -> f64 {
    let perfect = windows as f64 * costs.tp;
    let null = -(windows as f64) * costs.fn_;
    100.0 * (raw - null) / (perfect - null)
}

/// Sweeps the threshold over every distinct score, keeping the best total. `rows` is
/// reordered (highest score first).
pub fn sweep(rows: &mut [ScoredRow], windows: usize, profile: &Profile) -> ProfileResult {
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));
    let costs = profile.costs;
    let max_tp = scaled_sigmoid(-1.0);
    let mut best_in_window = vec![f64::NAN; windows];
    let mut total = -(windows as f64) * costs.fn_;
    let (mut detected, mut false_positives) = (0usize, 0usize);
    let mut best = (f64::INFINITY, total, 0usize, 0usize);
    let mut index = 0;
    while index < rows.len() {
        let threshold = rows[index].score;
        while index < rows.len() && rows[index].score == threshold {
            let row = rows[index].weight;
            match row.window {
                Some(window) => {
                    let value = costs.tp * row.weight / max_tp;
                    let slot = &mut best_in_window[window as usize];
                    if slot.is_nan() {
                        total += costs.fn_ + value;
                        *slot = value;
                        detected += 1;
                    } else if value > *slot {
                        total += value - *slot;
                        *slot = value;
                    }
                }
                None => {
                    total += costs.fp * row.weight;
                    false_positives += 1;
                }
            }
            index += 1;
        }
        if total > best.1 {
            best = (threshold, total, detected, false_positives);
        }
    }
    ProfileResult {
        profile: profile.name.clone(),
        threshold: best.0,
        raw: best.1,
        normalized: normalize(best.1, windows, &costs),
        true_positives: best.2,
        false_positives: best.3,
        false_negatives: windows - best.2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> Profile {
        Profile {
            name: "standard".into(),
            costs: CostMatrix {
                tp: 1.0,
                fn_: 1.0,
                fp: 0.11,
            },
        }
    }

    #[test]
    fn the_published_normalisation_is_reproduced() {
        // Numenta HTM's raw standard total over the corpus' 116 windows.
        let score = normalize(46.634, 116, &standard().costs);
        assert!((score - 70.10).abs() < 0.005, "{score}");
    }

    #[test]
    fn sigmoid_edges_match_the_definition() {
        assert!((scaled_sigmoid(0.0)).abs() < 1e-12);
        assert!((scaled_sigmoid(-1.0) - 0.986_614_298).abs() < 1e-6);
        assert_eq!(scaled_sigmoid(3.5), -1.0);
    }

    fn file(rows: usize, windows: Vec<(usize, usize)>) -> NabFile {
        NabFile {
            relative: "c/f.csv".into(),
            timestamps: (0..rows as i64).collect(),
            values: vec![0.0; rows],
            windows,
            timestamp_text: vec![String::new(); rows],
        }
    }

    #[test]
    fn rows_are_weighted_by_position_and_probation_is_skipped() {
        let f = file(100, vec![(40, 49)]);
        let w = row_weights(&f, 0);
        assert!(w[..15].iter().all(Option::is_none), "15% probation");
        assert_eq!(w[20].unwrap().weight, -1.0, "before any window: full FP");
        let left = w[40].unwrap();
        assert_eq!(left.window, Some(0));
        assert!((left.weight - scaled_sigmoid(-1.0)).abs() < 1e-12);
        assert!((w[49].unwrap().weight - scaled_sigmoid(-0.1)).abs() < 1e-12);
        // One width after the window's end (width 10, so 9 rows per unit).
        assert!((w[58].unwrap().weight - scaled_sigmoid(1.0)).abs() < 1e-12);
        assert_eq!(w[99].unwrap().weight, -1.0);
    }

    #[test]
    fn only_the_earliest_detection_of_a_window_counts() {
        let f = file(100, vec![(40, 49)]);
        let weights = row_weights(&f, 0);
        let scores: Vec<f64> = (0..100)
            .map(|i| match i {
                45 => 0.9,
                47 => 0.95,
                70 => 0.5,
                _ => 0.0,
            })
            .collect();
        let mut rows: Vec<ScoredRow> = weights
            .iter()
            .zip(&scores)
            .filter_map(|(w, &score)| w.map(|weight| ScoredRow { score, weight }))
            .collect();
        let result = sweep(&mut rows, 1, &standard());
        assert_eq!(result.threshold, 0.9, "the FP at 0.5 is not worth it");
        assert_eq!((result.true_positives, result.false_positives), (1, 0));
        let expected = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0);
        assert!((result.raw - expected).abs() < 1e-12, "{}", result.raw);
    }
}
