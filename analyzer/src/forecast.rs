//! Seasonal forecasts for capacity planning: additive Holt-Winters with a damped trend and a
//! daily and a weekly profile (by time slot, so any step works), fitted over a history and
//! projected over a horizon with a widening interval.
//!
//! `predict_linear` in PromQL extends a straight line; a series that peaks every afternoon
//! and rests every weekend needs its season carried forward too.

use serde::Serialize;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
const DAY_SLOTS: usize = 96;
const WEEK_SLOTS: usize = 168;
/// z of a two-sided 95% interval.
const Z95: f64 = 1.96;

/// Smoothing of the fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastConfig {
    pub level_rate: f64,
    pub trend_rate: f64,
    /// Damping of the trend per step (1 = undamped).
    pub damping: f64,
    pub season_rate: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            level_rate: 0.02,
            trend_rate: 0.005,
            damping: 0.995,
            season_rate: 0.25,
        }
    }
}

/// One forecast point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForecastPoint {
    /// ms.
    pub time: i64,
    pub value: f64,
    /// The 95% interval.
    pub lower: f64,
    pub upper: f64,
}

/// Why no forecast could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("too little history: {0} points (at least 10 are needed)")]
    TooLittleHistory(usize),
    #[error("the step must be positive")]
    BadStep,
}

/// Fits `history` (ms, value; time order, gaps allowed) and projects it every `step_ms` up
/// to `horizon_ms` after its last point.
pub fn seasonal_forecast(
    history: &[(i64, f64)],
    horizon_ms: i64,
    step_ms: i64,
    config: &ForecastConfig,
) -> Result<Vec<ForecastPoint>, ForecastError> {
    if step_ms <= 0 {
        return Err(ForecastError::BadStep);
    }
    let points: Vec<(i64, f64)> = history
        .iter()
        .copied()
        .filter(|p| p.1.is_finite())
        .collect();
    if points.len() < 10 {
        return Err(ForecastError::TooLittleHistory(points.len()));
    }
    let mut model = Model::new(points[0].1);
    let mut squared = 0.0;
    let mut residuals = 0usize;
    for &(t, v) in &points[1..] {
        let residual = model.learn(t, v, config);
        if residuals > points.len() / 4 {
            // Past the start, where the profiles are still empty, the errors are the
            // model's: they size the interval.
            squared += residual * residual;
        }
        residuals += 1;
    }
    let counted = residuals - points.len() / 4 - 1;
    let sigma = (squared / counted.max(1) as f64).sqrt();
    let last = points[points.len() - 1].0;
    let steps = (horizon_ms / step_ms).max(1);
    Ok((1..=steps)
        .map(|k| {
            let t = last + k * step_ms;
            let value = model.project(t, k, config);
            // The error grows as the level and trend wander: √(1 + k·α²) as in the
            // simple-smoothing case.
            let spread = Z95 * sigma * (1.0 + k as f64 * config.level_rate.powi(2)).sqrt();
            ForecastPoint {
                time: t,
                value,
                lower: value - spread,
                upper: value + spread,
            }
        })
        .collect())
}

struct Model {
    level: f64,
    trend: f64,
    day: [f64; DAY_SLOTS],
    week: [f64; WEEK_SLOTS],
}

fn slots(t: i64) -> (usize, usize) {
    (
        (t.rem_euclid(DAY_MS) * DAY_SLOTS as i64 / DAY_MS) as usize,
        (t.rem_euclid(WEEK_MS) * WEEK_SLOTS as i64 / WEEK_MS) as usize,
    )
}

impl Model {
    fn new(first: f64) -> Self {
        Model {
            level: first,
            trend: 0.0,
            day: [0.0; DAY_SLOTS],
            week: [0.0; WEEK_SLOTS],
        }
    }

    /// One step of the fit; the one-step-ahead residual.
    fn learn(&mut self, t: i64, v: f64, c: &ForecastConfig) -> f64 {
        let (d, w) = slots(t);
        let season = self.day[d] + self.week[w];
        let predicted = self.level + c.damping * self.trend + season;
        let residual = v - predicted;
        let previous = self.level;
        self.level = self.level + c.damping * self.trend + c.level_rate * residual;
        self.trend = c.damping * self.trend
            + c.trend_rate * (self.level - previous - c.damping * self.trend);
        let seasonal = c.season_rate * residual * (1.0 - c.level_rate);
        self.day[d] += seasonal;
        self.week[w] += 0.5 * seasonal;
        residual
    }

    /// The value at `t`, `k` steps past the end.
    fn project(&self, t: i64, k: i64, c: &ForecastConfig) -> f64 {
        let (d, w) = slots(t);
        // Σ φ^i for i in 1..=k: the damped trend's reach.
        let reach = if (c.damping - 1.0).abs() < 1e-12 {
            k as f64
        } else {
            c.damping * (1.0 - c.damping.powi(k as i32)) / (1.0 - c.damping)
        };
        self.level + reach * self.trend + self.day[d] + self.week[w]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daily cycle on a slow rise, with noise; 5-minute points.
    fn series(days: i64, noise_seed: u64) -> Vec<(i64, f64)> {
        let mut s = noise_seed;
        (0..days * 288)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let noise = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let t = 1_764_547_200_000 + i * 300_000;
                (t, truth(t) + 4.0 * noise)
            })
            .collect()
    }

    fn truth(t: i64) -> f64 {
        let day = (t % DAY_MS) as f64 / DAY_MS as f64;
        let days = (t - 1_764_547_200_000) as f64 / DAY_MS as f64;
        100.0 + 2.0 * days + 40.0 * (day * std::f64::consts::TAU).sin()
    }

    #[test]
    fn the_daily_cycle_is_carried_forward_within_its_interval() {
        let history = series(14, 7);
        let f = seasonal_forecast(
            &history,
            12 * 3_600_000,
            300_000,
            &ForecastConfig::default(),
        )
        .unwrap();
        assert_eq!(f.len(), 144);
        let inside = f
            .iter()
            .filter(|p| (p.lower..=p.upper).contains(&truth(p.time)))
            .count();
        assert!(inside >= 130, "{inside} of 144 inside the interval");
        let errors: Vec<f64> = f.iter().map(|p| (p.value - truth(p.time)).abs()).collect();
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        let worst = errors.iter().cloned().fold(0.0, f64::max);
        assert!(
            mean < 5.0 && worst < 15.0,
            "off by {mean} on average, {worst} at worst (the swing is ±40)"
        );
        assert!(f.last().unwrap().upper - f.last().unwrap().lower > f[0].upper - f[0].lower);
    }

    #[test]
    fn a_linear_forecast_would_miss_the_cycle() {
        // The point of a seasonal forecast: 6 hours on, a straight line through the last
        // hour is far off where the cycle turned.
        let history = series(14, 9);
        let f = seasonal_forecast(&history, 6 * 3_600_000, 300_000, &ForecastConfig::default())
            .unwrap();
        let last_hour = &history[history.len() - 12..];
        let slope = (last_hour[11].1 - last_hour[0].1) / (last_hour[11].0 - last_hour[0].0) as f64;
        let end = f.last().unwrap();
        let linear = last_hour[11].1 + slope * (end.time - last_hour[11].0) as f64;
        assert!((end.value - truth(end.time)).abs() < (linear - truth(end.time)).abs());
    }

    #[test]
    fn too_little_history_is_refused() {
        let err = seasonal_forecast(&[(0, 1.0); 3], 1000, 100, &ForecastConfig::default());
        assert_eq!(err, Err(ForecastError::TooLittleHistory(3)));
    }
}
