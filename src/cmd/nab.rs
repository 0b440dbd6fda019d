//! `taishan nab`: the anomaly detector through the Numenta Anomaly Benchmark.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use taishan_analyzer::nab::{
    evaluate, held_out_check, load_corpus, load_profiles, score_corpus, tuning_grid, write_results,
    Evaluation, NabFile, Profile,
};
use taishan_analyzer::DetectorConfig;

use super::OutputFormat;

/// Options of `taishan nab`.
#[derive(Debug, clap::Args)]
pub struct NabArgs {
    /// The corpus: a folder with data/, labels/ and profiles.json.
    #[arg(long, default_value = "../shared/bench/nab")]
    pub data: std::path::PathBuf,
    /// Where the per-file results go (created if missing).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// A detector configuration (YAML, as `analyzer.detector` in the config); default: the
    /// ensemble with its default parameters.
    #[arg(long)]
    pub detector: Option<std::path::PathBuf>,
    /// Also score the ensemble without its linfa mixture model.
    #[arg(long)]
    pub ablation: bool,
    /// Also run the held-out check (27 candidates on half the corpus; a minute or two).
    #[arg(long)]
    pub holdout: bool,
    /// Files scored at once (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: OutputFormat,
}

/// The best published normalised score of each profile, and whose (the corpus' README).
const PUBLISHED_BEST: [(f64, &str); 3] = [(74.9, "ARTime"), (67.0, "CAD OSE"), (80.4, "ARTime")];

/// Runs the subcommand.
pub fn run(args: &NabArgs) -> ExitCode {
    match benchmark(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taishan nab: {}", crate::cmd::error_text::chain(&e));
            ExitCode::from(2)
        }
    }
}

fn benchmark(args: &NabArgs) -> anyhow::Result<()> {
    let files = load_corpus(&args.data).context("reading the corpus")?;
    let profiles = load_profiles(&args.data).context("reading the cost profiles")?;
    let config = detector_config(args)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rows: usize = files.iter().map(NabFile::len).sum();
    eprintln!(
        "NAB: {} files, {rows} rows, detector {}",
        files.len(),
        config.name()
    );
    let started = Instant::now();
    let scores = score_corpus(&config, &files, threads, &|done| {
        progress("scoring", done, files.len())
    });
    let elapsed = started.elapsed();
    end_progress();
    write_results(&args.out, &files, &scores)
        .with_context(|| format!("writing results under {}", args.out.display()))?;
    let main = evaluate_all(&files, &scores, &profiles);

    let ablation = args.ablation.then(|| {
        let mut without = config.clone();
        if let DetectorConfig::Ensemble(c) = &mut without {
            c.mixture = None;
        }
        let scores = score_corpus(&without, &files, threads, &|done| {
            progress("ablation (no linfa model)", done, files.len())
        });
        end_progress();
        evaluate_all(&files, &scores, &profiles)
    });
    let held_out = match (&config, args.holdout) {
        (DetectorConfig::Ensemble(base), true) => {
            let grid = tuning_grid(base);
            let found = held_out_check(&files, &profiles, &grid, threads, &|done, all| {
                progress("held-out: tuning on odd files", done, all)
            });
            end_progress();
            found
        }
        (_, true) => anyhow::bail!("--holdout tunes the ensemble; the detector is not one"),
        _ => None,
    };

    match args.output {
        OutputFormat::Json => {
            let scores_json = |evals: &[Evaluation]| {
                evals
                    .iter()
                    .map(|e| {
                        json!({
                            "profile": e.result.profile,
                            "score": e.result.normalized,
                            "raw": e.result.raw,
                            "threshold": e.result.threshold,
                            "detected": e.result.true_positives,
                            "false_positives": e.result.false_positives,
                            "missed": e.result.false_negatives,
                        })
                    })
                    .collect::<Vec<_>>()
            };
            let report = json!({
                "files": files.len(),
                "rows": rows,
                "seconds": elapsed.as_secs_f64(),
                "detector": serde_json::to_value(&config)?,
                "scores": scores_json(&main),
                "without_linfa": ablation.as_deref().map(scores_json),
                "held_out": held_out.as_ref().map(|h| json!({
                    "chosen": h.chosen,
                    "tuning_files": h.tuning,
                    "held_out_files": h.held_out,
                })),
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Table => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "scored {rows} rows in {:.2} s ({:.0} rows/s)",
                elapsed.as_secs_f64(),
                rows as f64 / elapsed.as_secs_f64().max(1e-9)
            )?;
            print_table(&mut out, "ensemble", &main, &profiles)?;
            if let Some(ablation) = &ablation {
                print_table(
                    &mut out,
                    "ensemble without the linfa model",
                    ablation,
                    &profiles,
                )?;
            }
            if let Some(h) = &held_out {
                writeln!(
                    out,
                    "\nheld-out check: chosen on the odd files: {}",
                    h.chosen
                )?;
                for (i, p) in profiles.iter().enumerate() {
                    writeln!(
                        out,
                        "  {:<20} odd (tuning) {:6.2}   even (held out) {:6.2}",
                        p.name, h.tuning[i], h.held_out[i]
                    )?;
                }
            }
            writeln!(out, "\nper-file results: {}", args.out.display())?;
        }
    }
    Ok(())
}

fn detector_config(args: &NabArgs) -> anyhow::Result<DetectorConfig> {
    let Some(path) = &args.detector else {
        return Ok(DetectorConfig::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    DetectorConfig::from_yaml(value).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn evaluate_all(files: &[NabFile], scores: &[Vec<f64>], profiles: &[Profile]) -> Vec<Evaluation> {
    let refs: Vec<&NabFile> = files.iter().collect();
    let slices: Vec<&[f64]> = scores.iter().map(Vec::as_slice).collect();
    evaluate(&refs, &slices, profiles)
}

fn print_table(
    out: &mut impl Write,
    title: &str,
    evals: &[Evaluation],
    profiles: &[Profile],
) -> std::io::Result<()> {
    writeln!(out, "\n{title}")?;
    writeln!(
        out,
        "  {:<20} {:>7} {:>10} {:>9} {:>10} {:>7}   best published",
        "profile", "score", "threshold", "detected", "false pos", "missed"
    )?;
    for (i, e) in evals.iter().enumerate() {
        let r = &e.result;
        let (best, by) = PUBLISHED_BEST.get(i).copied().unwrap_or((f64::NAN, "?"));
        writeln!(
            out,
            "  {:<20} {:>7.2} {:>10.4} {:>5}/{:<3} {:>10} {:>7}   {best:.1} ({by})",
            profiles
                .get(i)
                .map_or(r.profile.as_str(), |p| p.name.as_str()),
            r.normalized,
            r.threshold,
            r.true_positives,
            r.true_positives + r.false_negatives,
            r.false_positives,
            r.false_negatives,
        )?;
    }
    Ok(())
}

/// A bar redrawn in place on a terminal; into a pipe, a line per quarter.
fn progress(what: &str, done: usize, all: usize) {
    use std::io::IsTerminal;
    let width = 30;
    let filled = (done * width).checked_div(all).unwrap_or(width);
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\r  {what} [{bar}] {done}/{all}");
        let _ = err.flush();
    } else if all > 0 && (done * 4 / all != (done - 1) * 4 / all || done == all) {
        let _ = writeln!(err, "  {what} [{bar}] {done}/{all}");
    }
}

fn end_progress() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}
