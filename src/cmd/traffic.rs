//! `taishan traffic`: simulated customers against a running demo gateway.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use taishan_core::{Clock, SystemClock};
use taishan_services::Traffic;
use taishan_services::TrafficConfig;
use tokio_util::sync::CancellationToken;

/// Options of `taishan traffic`.
#[derive(Debug, clap::Args)]
pub struct TrafficArgs {
    /// Base URL of the demo gateway.
    #[arg(long, default_value = "http://127.0.0.1:7100")]
    pub gateway: String,
    /// API key sent as X-Api-Key.
    #[arg(long, default_value = "demo-mobile-app")]
    pub api_key: String,
    /// Customer actions per second at the daily average.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
    /// How far the rate swings over the day, 0 (flat) to 1.
    #[arg(long, default_value_t = 0.6)]
    pub daily_amplitude: f64,
    /// Hour of the day (UTC) when traffic peaks.
    #[arg(long, default_value_t = 6)]
    pub peak_hour: u8,
    /// Customers in the simulated population.
    #[arg(long, default_value_t = 2000)]
    pub customers: u32,
    /// Stop after this long (`30s`, `10m`); default: until Ctrl-C.
    #[arg(long)]
    pub duration: Option<humantime::Duration>,
    /// Stop after this many actions.
    #[arg(long)]
    pub count: Option<u64>,
    /// Seed of the random choices, for a repeatable run.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs until the duration or count is reached, or Ctrl-C.
pub fn run(args: &TrafficArgs) -> ExitCode {
    let config = TrafficConfig {
        rate: args.rate,
        daily_amplitude: args.daily_amplitude,
        peak_hour_utc: args.peak_hour,
        customers: args.customers,
        seed: args.seed,
    };
    let mut problems = Vec::new();
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 10_000.0) {
        problems.push(format!("--rate: must be in (0, 10000], got {}", args.rate));
    }
    if !(0.0..=1.0).contains(&args.daily_amplitude) {
        problems.push(format!(
            "--daily-amplitude: must be between 0 and 1, got {}",
            args.daily_amplitude
        ));
    }
    if args.peak_hour > 23 {
        problems.push(format!("--peak-hour: must be 0–23, got {}", args.peak_hour));
    }
    if args.customers == 0 {
        problems.push("--customers: must be at least 1".into());
    }
    if !problems.is_empty() {
        for p in problems {
            eprintln!("taishan traffic: {p}");
        }
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("taishan traffic: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let traffic = Traffic::new(args.gateway.clone(), args.api_key.clone(), config, clock);
        let cancel = CancellationToken::new();
        let started = Instant::now();
        let mut run = tokio::spawn(traffic.clone().run(cancel.clone(), args.count));
        let mut progress = tokio::time::interval(Duration::from_secs(10));
        progress.tick().await;
        let deadline = args.duration.map(|d| started + Duration::from(d));
        println!(
            "sending about {}/s to {} (Ctrl-C stops)",
            args.rate, args.gateway
        );
        loop {
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut run => break,
                _ = tokio::signal::ctrl_c() => { cancel.cancel(); let _ = (&mut run).await; break; }
                _ = until_deadline => { cancel.cancel(); let _ = (&mut run).await; break; }
                _ = progress.tick() => {
                    let t = traffic.stats().totals();
                    println!(
                        "{:>5.0}s  applications {}  drawdowns {}  repayments {}  ok {}  refused {}  failed {}  dropped {}",
                        started.elapsed().as_secs_f64(), t.applications, t.drawdowns, t.repayments, t.ok, t.refused, t.failed, t.dropped
                    );
                }
            }
        }
        let t = traffic.stats().totals();
        println!(
            "done in {:.0}s: {} applications, {} drawdowns, {} repayments; {} ok, {} refused (4xx), {} failed (5xx or no answer), {} dropped",
            started.elapsed().as_secs_f64(),
            t.applications,
            t.drawdowns,
            t.repayments,
            t.ok,
            t.refused,
            t.failed,
            t.dropped
        );
        if t.ok == 0 && t.failed > 0 {
            eprintln!("taishan traffic: no request succeeded; is the gateway at {} running?", args.gateway);
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}
