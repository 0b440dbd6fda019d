//! The held-out check: shared parameters chosen on the odd-numbered files (in name order)
//! and scored, unchanged, on the even-numbered ones, so a corpus score is not only a fit to
//! the corpus.

use super::corpus::NabFile;
use super::run::{evaluate, score_corpus};
use super::score::Profile;
use crate::detectors::{DetectorConfig, EnsembleConfig};

/// One candidate of the tuning grid.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// What differs from the default, e.g. `mixture_weight=0.5 tail.horizon=2000`.
    pub label: String,
    pub config: DetectorConfig,
}

/// The grid the held-out check searches: the parameters every file shares and that matter
/// most (how much the learned model counts, how long a peak is remembered, how long a
/// detection holds others back).
pub fn tuning_grid(base: &EnsembleConfig) -> Vec<Candidate> {
    let mut grid = Vec::new();
    for mixture_weight in [0.5, 0.75, 1.0] {
        for horizon in [2000, 4000, 8000] {
            for refractory in [25, 50, 100] {
                let mut config = base.clone();
                config.mixture_weight = mixture_weight;
                config.tail.horizon = horizon;
                config.refractory = refractory;
                grid.push(Candidate {
                    label: format!(
                        "mixture_weight={mixture_weight} tail.horizon={horizon} refractory={refractory}"
                    ),
                    config: DetectorConfig::Ensemble(config),
                });
            }
        }
    }
    grid
}

/// What the held-out check found.
#[derive(Debug, Clone)]
pub struct HeldOut {
    /// The candidate chosen on the odd files.
    pub chosen: String,
    /// Normalised scores per profile: chosen on odd, on the odd (tuning) files.
    pub tuning: Vec<f64>,
    /// The same parameters on the even (held-out) files.
    pub held_out: Vec<f64>,
}

/// Picks, per the standard profile, the best candidate on the odd files and scores it on the
/// even ones. `progress` hears (candidates done, candidates in all).
pub fn held_out_check(
    files: &[NabFile],
    profiles: &[Profile],
    grid: &[Candidate],
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Option<HeldOut> {
    let (odd, even): (Vec<NabFile>, Vec<NabFile>) = {
        let (odd, even): (Vec<_>, Vec<_>) = files.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        (
            odd.into_iter().map(|(_, f)| f.clone()).collect(),
            even.into_iter().map(|(_, f)| f.clone()).collect(),
        )
    };
    let scores_of = |set: &[NabFile], config: &DetectorConfig| -> Vec<f64> {
        let scores = score_corpus(config, set, threads, &|_| {});
        let refs: Vec<&NabFile> = set.iter().collect();
        let slices: Vec<&[f64]> = scores.iter().map(Vec::as_slice).collect();
        evaluate(&refs, &slices, profiles)
            .into_iter()
            .map(|e| e.result.normalized)
            .collect()
    };
    let mut best: Option<(usize, Vec<f64>)> = None;
    for (i, candidate) in grid.iter().enumerate() {
        let scores = scores_of(&odd, &candidate.config);
        let better = best.as_ref().is_none_or(|(_, b)| scores[0] > b[0]);
        if better {
            best = Some((i, scores));
        }
        progress(i + 1, grid.len());
    }
    let (index, tuning) = best?;
    let held_out = scores_of(&even, &grid[index].config);
    Some(HeldOut {
        chosen: grid[index].label.clone(),
        tuning,
        held_out,
    })
}
