//! The learned model: a `linfa` Gaussian mixture over features of the recent window.
//!
//! Each point becomes a small feature vector describing the shape around it (its value, the
//! window's mean, spread and last step, all in units of the series' own long-run spread). A
//! bounded sample of recent vectors is kept, and every `refit_every` points a Gaussian mixture
//! is fitted to it with `linfa` (EM from k-means, seeded). A point's raw deviation is its
//! negative log-likelihood under the current mixture over its running mean, so shapes the
//! series has not shown before stand out whatever their size.

use linfa::prelude::*;
use linfa::DatasetBase;
use linfa_clustering::GaussianMixtureModel;
use ndarray::Array2;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use super::member::{Calibrated, Measurement, Member};
use super::window::Recent;
use super::Point;

/// Features per point.
const FEATURES: usize = 4;
/// Points over which the first fits of series started together are spread.
const FIRST_FIT_SPREAD: u64 = 16;
/// Most mixture components allowed.
const MAX_COMPONENTS: usize = 16;

/// Configuration of the mixture detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixtureConfig {
    /// Points in the window a feature vector describes (default 8).
    pub window: usize,
    /// Mixture components (default 3).
    pub components: usize,
    /// Feature vectors kept for fitting (default 128).
    pub samples: usize,
    /// Every how many points a vector is kept (default 2).
    pub stride: usize,
    /// Points between refits (default 128).
    pub refit_every: usize,
    /// Smoothing of the long-run mean and spread that scale the features (default 0.005).
    pub norm_rate: f64,
    /// Smoothing of the running mean of negative log-likelihoods (default 0.01).
    pub likelihood_rate: f64,
}

impl Default for MixtureConfig {
    fn default() -> Self {
        MixtureConfig {
            window: 8,
            components: 3,
            samples: 128,
            stride: 2,
            refit_every: 128,
            norm_rate: 0.005,
            likelihood_rate: 0.01,
        }
    }
}

/// One fitted mixture component, ready to evaluate densities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Component {
    /// `ln(weight) + ½ ln|P| − (d/2) ln 2π`.
    log_norm: f64,
    mean: [f64; FEATURES],
    /// Precision matrix, row-major.
    precision: [f64; FEATURES * FEATURES],
}

/// The mixture member's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureModel {
    config: MixtureConfig,
    seed: u64,
    fits: u64,
    seen: u64,
    mean: f64,
    spread: f64,
    recent: Recent<f64>,
    samples: Recent<[f32; FEATURES]>,
    since_fit: usize,
    model: Vec<Component>,
    mean_nll: f64,
    /// Points scored under a fitted model: the mean likelihood is a plain mean at first, so
    /// the first fit's level is not mistaken for a surprise while the mean climbs to it.
    #[serde(default)]
    scored: u64,
}

impl MixtureModel {
    pub fn new(config: MixtureConfig, seed: u64) -> Self {
        MixtureModel {
            seed,
            fits: 0,
            seen: 0,
            mean: 0.0,
            spread: 0.0,
            recent: Recent::new(config.window.max(2)),
            samples: Recent::new(config.samples.clamp(8, 1024)),
            since_fit: 0,
            model: Vec::new(),
            mean_nll: 0.0,
            scored: 0,
            config,
        }
    }

    fn features(&self, value: f64) -> [f64; FEATURES] {
        let spread = self.spread.max(1e-9 * (1.0 + self.mean.abs()));
        let z = |x: f64| (x - self.mean) / spread;
        let n = (self.recent.len() + 1) as f64;
        let sum: f64 = self.recent.iter().skip(1).sum::<f64>() + value;
        let mean = sum / n;
        let var = (self
            .recent
            .iter()
            .skip(1)
            .map(|x| (x - mean).powi(2))
            .sum::<f64>()
            + (value - mean).powi(2))
            / n;
        let step = value - self.recent.last().unwrap_or(value);
        [z(value), z(mean), var.sqrt() / spread, step / spread]
    }

    fn negative_log_likelihood(&self, x: &[f64; FEATURES]) -> f64 {
        let mut best = f64::NEG_INFINITY;
        let mut terms = [0.0; MAX_COMPONENTS];
        for (slot, c) in terms.iter_mut().zip(&self.model) {
            let mut d = [0.0; FEATURES];
            for i in 0..FEATURES {
                d[i] = x[i] - c.mean[i];
            }
            let mut quad = 0.0;
            for i in 0..FEATURES {
                for j in 0..FEATURES {
                    quad += d[i] * c.precision[i * FEATURES + j] * d[j];
                }
            }
            *slot = c.log_norm - 0.5 * quad;
            best = best.max(*slot);
        }
        let n = self.model.len().min(terms.len());
        let sum: f64 = terms[..n].iter().map(|t| (t - best).exp()).sum();
        -(best + sum.ln())
    }

    fn refit(&mut self) {
        let rows: Vec<f64> = self
            .samples
            .iter()
            .flat_map(|s| s.iter().map(|&x| f64::from(x)))
            .collect();
        let n = rows.len() / FEATURES;
        let Ok(data) = Array2::from_shape_vec((n, FEATURES), rows) else {
            return;
        };
        self.fits += 1;
        let rng = Xoshiro256Plus::seed_from_u64(self.seed ^ self.fits.wrapping_mul(0x9E37_79B9));
        let fitted = GaussianMixtureModel::params_with_rng(
            self.config.components.clamp(1, MAX_COMPONENTS),
            rng,
        )
        .n_runs(1)
        .max_n_iterations(50)
        .tolerance(1e-3)
        .reg_covariance(1e-2)
        .fit(&DatasetBase::from(data));
        if let Ok(gmm) = fitted {
            self.model = components(&gmm);
        }
    }

    /// Whether a mixture has been fitted yet.
    pub fn is_fitted(&self) -> bool {
        !self.model.is_empty()
    }

    fn learn(&mut self, value: f64, features: &[f64; FEATURES]) {
        self.seen += 1;
        let rate = self.config.norm_rate.max(1.0 / self.seen as f64);
        let delta = value - self.mean;
        self.mean += rate * delta;
        self.spread += rate * (delta.abs() - self.spread);
        self.recent.push(value);
        if self.recent.is_full() && self.seen % self.config.stride.max(1) as u64 == 0 {
            self.samples
                .push(features.map(|x| x.clamp(-1e6, 1e6) as f32));
        }
        self.since_fit += 1;
        let enough = self.samples.len() >= (self.config.components * 8).max(24);
        // Each series fits at its own phase (from its seed), so thousands of series started
        // together do not all fit in the same tick: the first fit within FIRST_FIT_SPREAD
        // points of having enough samples, the refits spread over the whole period.
        let every = self.config.refit_every.max(1) as u64;
        let first = self.model.is_empty();
        let due = if first {
            self.seen % FIRST_FIT_SPREAD == self.seed % FIRST_FIT_SPREAD
        } else {
            self.since_fit >= self.config.refit_every
        };
        if enough && due {
            self.since_fit = if first {
                (self.seed % every) as usize
            } else {
                0
            };
            self.refit();
        }
    }
}

fn components(gmm: &GaussianMixtureModel<f64>) -> Vec<Component> {
    let log_2pi = (2.0 * std::f64::consts::PI).ln();
    let mut out = Vec::new();
    for (k, weight) in gmm.weights().iter().enumerate() {
        let mut mean = [0.0; FEATURES];
        let mut precision = [0.0; FEATURES * FEATURES];
        for i in 0..FEATURES {
            mean[i] = gmm.means()[[k, i]];
            for j in 0..FEATURES {
                precision[i * FEATURES + j] = gmm.precisions()[[k, i, j]];
            }
        }
        let Some(log_det) = log_determinant(&precision) else {
            continue;
        };
        let log_norm = weight.max(1e-12).ln() + 0.5 * log_det - 0.5 * FEATURES as f64 * log_2pi;
        out.push(Component {
            log_norm,
            mean,
            precision,
        });
    }
    out
}

/// `ln|A|` of a symmetric positive-definite matrix by Cholesky; `None` if it is not one.
fn log_determinant(a: &[f64; FEATURES * FEATURES]) -> Option<f64> {
    let mut l = [0.0; FEATURES * FEATURES];
    let mut log_det = 0.0;
    for i in 0..FEATURES {
        for j in 0..=i {
            let mut sum = a[i * FEATURES + j];
            for k in 0..j {
                sum -= l[i * FEATURES + k] * l[j * FEATURES + k];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return None;
                }
                l[i * FEATURES + i] = sum.sqrt();
                log_det += 2.0 * sum.sqrt().ln();
            } else {
                l[i * FEATURES + j] = sum / l[j * FEATURES + j];
            }
        }
    }
    Some(log_det)
}

impl Member for MixtureModel {
    type Config = MixtureConfig;

    fn fresh(config: MixtureConfig, seed: u64) -> Self {
        MixtureModel::new(config, seed)
    }

    fn measure(&mut self, point: Point) -> Measurement {
        let value = point.value;
        let features = self.features(value);
        if self.model.is_empty() {
            self.learn(value, &features);
            return Measurement::nothing_yet(value);
        }
        let nll = self.negative_log_likelihood(&features);
        let excess = if self.scored == 0 {
            0.0
        } else {
            nll - self.mean_nll
        };
        self.scored += 1;
        let rate = self.config.likelihood_rate.max(1.0 / self.scored as f64);
        self.mean_nll += rate * (nll - self.mean_nll);
        self.learn(value, &features);
        Measurement {
            deviation: Some(excess.max(0.0)),
            ..Measurement::nothing_yet(value)
        }
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() - 2 * std::mem::size_of::<Recent<f64>>()
            + self.recent.memory_bytes()
            + self.samples.memory_bytes()
            + self.config.components.clamp(1, MAX_COMPONENTS) * std::mem::size_of::<Component>()
    }
}

/// The mixture member as a detector on its own.
pub type MixtureDetector = Calibrated<MixtureModel>;
