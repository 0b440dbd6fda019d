//! Running a detector over the corpus and scoring what it said.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::corpus::NabFile;
use super::score::{row_weights, sweep, Profile, ProfileResult, ScoredRow};
use crate::detectors::{DetectorConfig, Point};

/// The seed every file's detector starts from, so a run is reproducible.
const SEED: u64 = 0x7a15_4a17;

/// The detector's score for every row of `file`, fed in order.
pub fn score_file(config: &DetectorConfig, file: &NabFile) -> Vec<f64> {
    let mut detector = config.build(SEED);
    file.timestamps
        .iter()
        .zip(&file.values)
        .map(|(&time, &value)| detector.observe(Point { time, value }).score)
        .collect()
}

/// Scores every file on `threads` threads, calling `progress` with the number done.
pub fn score_corpus(
    config: &DetectorConfig,
    files: &[NabFile],
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Vec<f64>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); files.len()];
    let slots: Vec<parking_lot::Mutex<&mut Vec<f64>>> =
        results.iter_mut().map(parking_lot::Mutex::new).collect();
    // Longest files first, so one long file does not finish alone at the end.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(&index) = order.get(n) else { break };
                let scores = score_file(config, &files[index]);
                **slots[index].lock() = scores;
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            });
        }
    });
    drop(slots);
    results
}

/// The scores of one profile, and what each file contributed at the chosen threshold.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub result: ProfileResult,
    /// Per file: windows detected, false positives, raw contribution.
    pub per_file: Vec<(String, usize, usize, f64)>,
}

/// Scores `files` (with `scores` row for row) under each profile.
pub fn evaluate(files: &[&NabFile], scores: &[&[f64]], profiles: &[Profile]) -> Vec<Evaluation> {
    let mut rows = Vec::new();
    let mut owners = Vec::new();
    let mut windows = 0u32;
    for (f, (file, file_scores)) in files.iter().zip(scores).enumerate() {
        for (weight, &score) in row_weights(file, windows)
            .into_iter()
            .zip(file_scores.iter())
        {
            if let Some(weight) = weight {
                let score = if score.is_finite() { score } else { 0.0 };
                rows.push(ScoredRow { score, weight });
                owners.push(f);
            }
        }
        windows += file.windows.len() as u32;
    }
    profiles
        .iter()
        .map(|profile| {
            let mut sorted = rows.clone();
            let result = sweep(&mut sorted, windows as usize, profile);
            let per_file = breakdown(files, &rows, &owners, windows as usize, profile, &result);
            Evaluation { result, per_file }
        })
        .collect()
}

fn breakdown(
    files: &[&NabFile],
    rows: &[ScoredRow],
    owners: &[usize],
    windows: usize,
    profile: &Profile,
    result: &ProfileResult,
) -> Vec<(String, usize, usize, f64)> {
    let costs = profile.costs;
    let max_tp = super::score::scaled_sigmoid(-1.0);
    let mut per_file: Vec<(String, usize, usize, f64)> = files
        .iter()
        .map(|f| {
            (
                f.relative.clone(),
                0,
                0,
                -(f.windows.len() as f64) * costs.fn_,
            )
        })
        .collect();
    let mut best = vec![f64::NAN; windows];
    for (row, &owner) in rows.iter().zip(owners) {
        if row.score < result.threshold {
            continue;
        }
        let entry = &mut per_file[owner];
        match row.weight.window {
            Some(w) => {
                let value = costs.tp * row.weight.weight / max_tp;
                let slot = &mut best[w as usize];
                // Rows come in time order, so the first detection of a window is the earliest.
                if slot.is_nan() {
                    *slot = value;
                    entry.1 += 1;
                    entry.3 += costs.fn_ + value;
                }
            }
            None => {
                entry.2 += 1;
                entry.3 += costs.fp * row.weight.weight;
            }
        }
    }
    per_file
}

/// Writes `DIR/<category>/<file>.csv` with `timestamp,value,anomaly_score` for every file.
pub fn write_results(dir: &Path, files: &[NabFile], scores: &[Vec<f64>]) -> std::io::Result<()> {
    for (file, scores) in files.iter().zip(scores) {
        let path = dir.join(&file.relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(out, "timestamp,value,anomaly_score")?;
        for ((stamp, value), score) in file.timestamp_text.iter().zip(&file.values).zip(scores) {
            writeln!(out, "{stamp},{value},{score}")?;
        }
        out.flush()?;
    }
    Ok(())
}
