//! When the loss stopped: read off the loss counter sampled during the faults.
//!
//! The loss is a count of failed business outcomes (failed payments, refused loans) that
//! only grows. It stopped at the first sample after which it stayed flat, within its
//! pre-drill noise (plus one outcome), for a quiet stretch while the faults were still in:
//! a loss that only stopped when the faults were taken back did not stop, the fault did.
//! What it grew afterwards (a breaker's probes into a still-broken channel, a relapse) is
//! reported beside the stop, not hidden in it.

use std::time::Duration;

use serde::Serialize;

/// The loss counter over a drill.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LossTrace {
    /// `(Unix ms, value)`, in time order.
    pub samples: Vec<(i64, f64)>,
}

impl LossTrace {
    /// Adds a sample.
    pub fn push(&mut self, at_ms: i64, value: f64) {
        self.samples.push((at_ms, value));
    }

    /// The counter's growth per second between `from_ms` and `to_ms` (0 without two samples).
    pub fn rate(&self, from_ms: i64, to_ms: i64) -> f64 {
        let inside: Vec<_> = self
            .samples
            .iter()
            .filter(|(t, _)| (from_ms..=to_ms).contains(t))
            .collect();
        match (inside.first(), inside.last()) {
            (Some((t0, v0)), Some((t1, v1))) if t1 > t0 => {
                (v1 - v0).max(0.0) / ((t1 - t0) as f64 / 1000.0)
            }
            _ => 0.0,
        }
    }

    /// When the loss stopped growing between `start_ms` and `end_ms` (the faults' window):
    /// the first sample after which it stayed within `noise_per_s` (plus one outcome) for
    /// at least `quiet`. `None` if it never did.
    pub fn stopped(
        &self,
        start_ms: i64,
        end_ms: i64,
        noise_per_s: f64,
        quiet: Duration,
    ) -> Option<i64> {
        let window: Vec<_> = self
            .samples
            .iter()
            .copied()
            .filter(|(t, _)| (start_ms..=end_ms).contains(t))
            .collect();
        let quiet = quiet.as_millis() as i64;
        let flat_from = |i: usize| {
            let (t0, v0) = window[i];
            let mut later = window[i..].iter().take_while(|(t, _)| *t <= t0 + quiet);
            let grew = later.any(|(t, v)| v - v0 > noise_per_s * (t - t0) as f64 / 1000.0 + 1.0);
            !grew && window.last().is_some_and(|(t, _)| *t >= t0 + quiet)
        };
        let i = (0..window.len()).find(|&i| flat_from(i))?;
        // Flat from the first sample: nothing was lost from the start.
        Some(if i == 0 { start_ms } else { window[i].0 })
    }

    /// How much the loss grew from `at_ms` to the last sample (what probes and relapses cost
    /// after the stop).
    pub fn growth_after(&self, at_ms: i64) -> f64 {
        let from = self.samples.iter().find(|(t, _)| *t >= at_ms);
        match (from, self.samples.last()) {
            (Some((_, v0)), Some((_, v1))) => (v1 - v0).max(0.0),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(points: &[(i64, f64)]) -> LossTrace {
        LossTrace {
            samples: points.to_vec(),
        }
    }

    const QUIET: Duration = Duration::from_secs(10);

    #[test]
    fn the_loss_stops_where_the_counter_stops_rising() {
        let t = trace(&[
            (0, 10.0),
            (10_000, 20.0),
            (20_000, 35.0),
            (30_000, 40.0),
            (40_000, 40.0),
            (60_000, 40.0),
        ]);
        assert_eq!(t.stopped(0, 60_000, 0.0, QUIET), Some(30_000));
    }

    #[test]
    fn growth_within_the_noise_does_not_count() {
        // 0.1/s of noise over the 30 s after the stop allows 3 + 1 more.
        let t = trace(&[(0, 0.0), (10_000, 50.0), (20_000, 52.0), (50_000, 54.0)]);
        assert_eq!(t.stopped(0, 50_000, 0.1, QUIET), Some(10_000));
        // Without noise the 2 after 10 s count: it stopped at 20 s.
        assert_eq!(t.stopped(0, 50_000, 0.0, QUIET), Some(20_000));
    }

    #[test]
    fn a_relapse_after_a_quiet_stretch_is_reported_not_hidden() {
        // Cut off at 20 s; a probe at 50 s costs 3 more.
        let t = trace(&[
            (0, 0.0),
            (10_000, 8.0),
            (20_000, 12.0),
            (35_000, 12.0),
            (50_000, 15.0),
            (60_000, 15.0),
        ]);
        assert_eq!(t.stopped(0, 60_000, 0.0, QUIET), Some(20_000));
        assert_eq!(t.growth_after(20_000), 3.0);
    }

    #[test]
    fn a_loss_that_never_grew_stopped_at_the_start() {
        let t = trace(&[(5_000, 3.0), (15_000, 3.0), (25_000, 3.0)]);
        assert_eq!(t.stopped(1_000, 25_000, 0.0, QUIET), Some(1_000));
    }

    #[test]
    fn a_loss_growing_until_the_end_never_stopped() {
        let t = trace(&[(0, 0.0), (10_000, 10.0), (20_000, 20.0), (30_000, 30.0)]);
        assert_eq!(t.stopped(0, 30_000, 0.0, QUIET), None);
    }

    #[test]
    fn the_baseline_rate_is_the_growth_per_second() {
        let t = trace(&[(0, 1.0), (10_000, 3.0), (90_000, 100.0)]);
        assert_eq!(t.rate(0, 10_000), 0.2);
        assert_eq!(t.rate(50_000, 60_000), 0.0);
    }
}
