//! What watching costs: 10,000 series scored by the default ensemble at a 15 s interval.
//! Reports bytes of detector state per series and the CPU one tick takes, as a share of
//! one core over the interval (targets: ≤ 8 KB per series, < 5% of a core).
//!
//! `cargo bench -p taishan-analyzer --bench watch_cost -- [SERIES] [TICKS]`

use std::time::Instant;

use taishan_analyzer::watch::{Watch, Watcher};
use taishan_analyzer::{AnalyzerConfig, WatchConfig};
use taishan_core::Labels;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let series: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let ticks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(600);
    let interval_s = 15.0;
    let watch = Watch::from_config(&WatchConfig {
        name: "bench".into(),
        query: "x".into(),
        detector: None,
        forecast: None,
    })
    .expect("default detector");
    let config = AnalyzerConfig {
        max_series: series,
        ..AnalyzerConfig::default()
    };
    let mut watcher = Watcher::new(vec![watch], &config);
    let labels: Vec<Labels> = (0..series)
        .map(|i| {
            Labels::from_sorted_unchecked(
                [("instance", format!("host-{i:05}").as_str())].into_iter(),
            )
        })
        .collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut busy = Vec::with_capacity(ticks);
    for tick in 0..ticks {
        let now_ms = 1_700_000_000_000 + (tick as i64) * 15_000;
        let day = (now_ms / 1000 % 86_400) as f64 / 86_400.0;
        let answer: Vec<(Labels, f64)> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
                let v = 100.0
                    + i as f64 % 50.0
                    + 20.0 * (day * std::f64::consts::TAU).sin()
                    + 5.0 * noise;
                (l.clone(), v)
            })
            .collect();
        let started = Instant::now();
        let report = watcher.tick(now_ms, &mut |_| Ok(answer.clone()));
        busy.push(started.elapsed().as_secs_f64());
        assert_eq!(report.scored, series);
        if (tick + 1) % 100 == 0 {
            eprintln!("  {} / {ticks} ticks", tick + 1);
        }
    }
    // The first ticks fit the first models of every series at once; the steady state is
    // what an operator pays, so the median and the 99th percentile are reported after them.
    let mut steady: Vec<f64> = busy[200.min(ticks / 2)..].to_vec();
    steady.sort_by(f64::total_cmp);
    let median = steady[steady.len() / 2];
    let p99 = steady[(steady.len() * 99 / 100).min(steady.len() - 1)];
    let mean = busy.iter().sum::<f64>() / busy.len() as f64;
    let slowest = busy.iter().cloned().fold(0.0, f64::max);
    let bytes = watcher.memory_bytes() as f64 / series as f64;
    println!("series {series}, ticks {ticks} (interval {interval_s} s), default ensemble");
    println!("state per series: {bytes:.0} bytes (target <= 8192)");
    println!(
        "tick: mean {:.1} ms, steady median {:.1} ms, p99 {:.1} ms, slowest {:.0} ms",
        mean * 1e3,
        median * 1e3,
        p99 * 1e3,
        slowest * 1e3
    );
    println!(
        "CPU share of one core at a {interval_s} s interval: mean {:.2}%, steady median {:.2}% (target < 5%)",
        100.0 * mean / interval_s,
        100.0 * median / interval_s
    );
}
