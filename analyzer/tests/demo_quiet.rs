//! The demo's anomaly alerts fire at a score of 0.8 (rules/demo/anomaly.rules.yaml). On
//! traffic shaped like the demo's — a daily swing from a quiet night to a busy afternoon,
//! counts that are random, a 0.5% failure rate — three days of 15 s points must stay under
//! it once the first day has been learnt, while a real drop still crosses it.

use taishan_analyzer::watch::{Watch, Watcher, SCORE_METRIC};
use taishan_analyzer::{AnalyzerConfig, WatchConfig};
use taishan_core::Labels;

const STEP_MS: i64 = 15_000;
const DAY_POINTS: usize = 86_400 / 15;

/// A small deterministic generator (xorshift), so the test is the same every run.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson count (Knuth's method; the means here are small).
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.uniform();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// Success rate over 2 minutes of payments arriving at 1 to 4 a second through the day;
/// from `drop` (point, share failing) 40 points fail at that share instead of 0.5%.
fn success_rates(days: usize, drop: Option<(usize, f64)>, noise: &mut Noise) -> Vec<f64> {
    let mut window: Vec<(u32, u32)> = Vec::new();
    (0..days * DAY_POINTS)
        .map(|i| {
            let hour = (i % DAY_POINTS) as f64 / DAY_POINTS as f64 * 24.0;
            let busy = 2.5 + 1.5 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin();
            let total = noise.poisson(busy * 15.0);
            let fail_p = match drop {
                Some((at, share)) if i >= at && i < at + 40 => share,
                _ => 0.005,
            };
            let failed = (0..total).filter(|_| noise.uniform() < fail_p).count() as u32;
            window.push((total, failed));
            if window.len() > 8 {
                window.remove(0);
            }
            let (t, f) = window.iter().fold((0, 0), |(t, f), (a, b)| (t + a, f + b));
            if t == 0 {
                f64::NAN
            } else {
                1.0 - f64::from(f) / f64::from(t)
            }
        })
        .collect()
}

fn scores(values: &[f64]) -> Vec<f64> {
    let watch = Watch::from_config(&WatchConfig {
        name: "payment_success_rate".into(),
        query: "unused".into(),
        detector: None,
        forecast: None,
    })
    .unwrap();
    let mut watcher = Watcher::new(vec![watch], &AnalyzerConfig::default());
    let channel = Labels::from_sorted_unchecked([("channel", "bank-a")].into_iter());
    let start = 1_764_547_200_000; // a midnight, UTC
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let report = watcher.tick(start + i as i64 * STEP_MS, &mut |_| {
                Ok(vec![(channel.clone(), v)])
            });
            report
                .samples
                .iter()
                .find(|(l, _)| l.metric_name() == Some(SCORE_METRIC))
                .map_or(0.0, |(_, s)| s.value)
        })
        .collect()
}

#[test]
fn three_days_of_ordinary_traffic_stay_under_the_alert_threshold() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let s = scores(&success_rates(3, None, &mut noise));
    let after_first_day = &s[DAY_POINTS..];
    let loudest = after_first_day.iter().cloned().fold(0.0, f64::max);
    assert!(loudest < 0.8, "ordinary traffic scored {loudest}");
}

#[test]
fn a_quarter_of_payments_failing_for_ten_minutes_crosses_it() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let at = 2 * DAY_POINTS + 14 * 240; // the third day, 14:00
    let s = scores(&success_rates(3, Some((at, 0.25)), &mut noise));
    let onset = s[at..at + 20].iter().cloned().fold(0.0, f64::max);
    assert!(onset > 0.8, "the drop scored {onset}");
}

#[test]
fn a_bank_failing_everything_half_an_hour_into_the_demo_crosses_it() {
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let at = 120; // 30 minutes after the first point
    let s = scores(&success_rates(1, Some((at, 1.0)), &mut noise));
    let onset = s[at..at + 20].iter().cloned().fold(0.0, f64::max);
    assert!(onset > 0.8, "the outage scored {onset}");
}
