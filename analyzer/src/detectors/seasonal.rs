//! The seasonal member: additive Holt-Winters residuals with a daily and a weekly profile.
//!
//! The expected value is a level plus the profile value of the point's time of day and hour
//! of week. Profiles are kept per time slot (not per point), so memory is fixed whatever the
//! scrape interval and irregular series fall into the right slot. The deviation is the
//! residual over its running mean size, signed: what the time of day and week cannot explain,
//! above or below.

use serde::{Deserialize, Serialize};

use super::member::{Calibrated, Forecast, Measurement, Member};
use super::Point;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// Residuals before deviations are measured against their size.
const SCALE_WARM_UP: u64 = 10;

/// Configuration of the seasonal member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeasonalConfig {
    /// Slots of the daily profile (default 96: a quarter hour each).
    pub day_slots: usize,
    /// Slots of the weekly profile (default 168: an hour each).
    pub week_slots: usize,
    /// Smoothing of the level per point (default 0.05).
    pub level_rate: f64,
    /// Smoothing of a daily slot per visit (default 0.1; the weekly one learns at half that).
    pub season_rate: f64,
    /// Smoothing of the residuals' mean size (default 0.02).
    pub scale_rate: f64,
    /// Half-width of the band, in residual sizes (default 3).
    pub band: f64,
}

impl Default for SeasonalConfig {
    fn default() -> Self {
        SeasonalConfig {
            day_slots: 96,
            week_slots: 168,
            level_rate: 0.05,
            season_rate: 0.1,
            scale_rate: 0.02,
            band: 3.0,
        }
    }
}

impl SeasonalConfig {
    /// The slot counts within what memory allows (a slot is 4 bytes).
    pub(crate) fn slots(&self) -> (usize, usize) {
        (
            self.day_slots.clamp(1, 1440),
            self.week_slots.clamp(1, 1008),
        )
    }
}

/// The seasonal member's state for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeasonalBaseline {
    config: SeasonalConfig,
    level: Option<f64>,
    day: Vec<f32>,
    week: Vec<f32>,
    scale: f64,
    residuals: u64,
    /// Points each daily slot has learnt from (saturating): a slot averages its first
    /// visits, so the shape of a day is known after a day or two, not after the many visits
    /// a small smoothing rate needs. (Averaging the weekly slots' first visits too scored
    /// worse on NAB: a week's slot sees too few points for their mean to be its shape.)
    #[serde(default)]
    day_visits: Vec<u8>,
    /// When the first point came: until a whole day has been seen, some times of day have
    /// no profile yet, and their residuals are the season itself, not a deviation.
    #[serde(default)]
    first: Option<i64>,
}

impl SeasonalBaseline {
    pub fn new(config: SeasonalConfig) -> Self {
        let (day, week) = config.slots();
        SeasonalBaseline {
            level: None,
            day: vec![0.0; day],
            week: vec![0.0; week],
            scale: 0.0,
            residuals: 0,
            day_visits: vec![0; day],
            first: None,
            config,
        }
    }

    fn slots(&self, time: i64) -> (usize, usize) {
        let day = (time.rem_euclid(DAY) * self.day.len() as i64 / DAY) as usize;
        let week = (time.rem_euclid(WEEK) * self.week.len() as i64 / WEEK) as usize;
        (day, week)
    }

    /// The expected value at `time` from what has been learnt so far.
    pub fn expected_at(&self, time: i64) -> Option<f64> {
        let (d, w) = self.slots(time);
        self.level
            .map(|level| level + f64::from(self.day[d]) + f64::from(self.week[w]))
    }

    /// How strong the daily season is, in [0, 1): the daily profile's half-range over that
    /// plus the residuals' mean size. Near 0 for a series with no daily shape (its residuals
    /// are then only noise about a moving level), near 1 for one the time of day explains.
    pub fn strength(&self) -> f64 {
        let (lo, hi) = self
            .day
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        let half_range = f64::from(hi - lo) / 2.0;
        if half_range.is_nan() || half_range <= 0.0 {
            return 0.0;
        }
        half_range / (half_range + self.scale)
    }

    /// The residuals' mean size.
    pub fn residual_scale(&self) -> f64 {
        self.scale
    }
}

impl Member for SeasonalBaseline {
    type Config = SeasonalConfig;

    fn fresh(config: SeasonalConfig, _seed: u64) -> Self {
        SeasonalBaseline::new(config)
    }

    const SIDED: bool = true;

    fn measure(&mut self, point: Point) -> Measurement {
        let Some(expected) = self.expected_at(point.time) else {
            self.level = Some(point.value);
            self.first = Some(point.time);
            return Measurement::nothing_yet(point.value);
        };
        let residual = point.value - expected;
        let a_day_seen = self.first.is_none_or(|first| point.time - first >= DAY);
        let deviation = (self.residuals >= SCALE_WARM_UP && a_day_seen)
            .then(|| residual / self.scale.max(1e-9 * (1.0 + expected.abs())));
        let half = self.config.band * self.scale;
        let measured = Measurement {
            deviation,
            expected,
            lower: expected - half,
            upper: expected + half,
        };
        let c = &self.config;
        let (d, w) = self.slots(point.time);
        if let Some(level) = &mut self.level {
            *level += c.level_rate * residual;
        }
        let unexplained = residual * (1.0 - c.level_rate);
        let day_rate = visited(&mut self.day_visits, d, c.season_rate);
        self.day[d] += (day_rate * unexplained) as f32;
        // The week learns what the day left, at half the rate: it is the rarer-visited profile.
        self.week[w] += (0.5 * c.season_rate * (1.0 - day_rate) * unexplained) as f32;
        self.residuals += 1;
        let rate = c.scale_rate.max(1.0 / self.residuals as f64);
        self.scale += rate * (residual.abs() - self.scale);
        measured
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.day.len() + self.week.len()) * std::mem::size_of::<f32>()
            + self.day_visits.len()
    }

    fn forecast(&self, time: i64) -> Option<Forecast> {
        let value = self.expected_at(time)?;
        let half = self.config.band * self.scale;
        Some(Forecast {
            value,
            lower: value - half,
            upper: value + half,
        })
    }
}

/// Counts a visit to `slot` and returns its learning rate: a plain mean over the first
/// visits, `rate` afterwards (and always, for a state saved before visits were counted).
fn visited(visits: &mut [u8], slot: usize, rate: f64) -> f64 {
    visits.get_mut(slot).map_or(rate, |seen| {
        *seen = seen.saturating_add(1);
        rate.max(1.0 / f64::from(*seen))
    })
}

/// The seasonal member as a detector on its own.
pub type SeasonalDetector = Calibrated<SeasonalBaseline>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Two days of 5-minute points: `daily` times a daily sine plus noise of ±1.
    fn strength_after(daily: f64) -> f64 {
        let mut seasonal = SeasonalBaseline::new(SeasonalConfig::default());
        let mut state = 17u64;
        for i in 0..2 * 288 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            let time = 300 * i;
            let day = (time % DAY) as f64 / DAY as f64;
            let value = 50.0 + daily * (day * std::f64::consts::TAU).sin() + noise;
            seasonal.measure(Point { time, value });
        }
        seasonal.strength()
    }

    #[test]
    fn a_series_the_time_of_day_explains_has_a_strong_season() {
        let (none, strong) = (strength_after(0.0), strength_after(20.0));
        assert!(
            none < 0.7,
            "noise alone: {none} (with a daily swing {strong})"
        );
        assert!(
            strong > 0.8,
            "a daily swing 20 times the noise: {strong} (noise alone {none})"
        );
    }
}
