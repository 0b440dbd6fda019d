//! Running a promqltest script: data loaded through the store's public API, queries
//! evaluated by the engine, results compared with Prometheus's tolerance.

use std::sync::Arc;

use promql_parser::parser::Expr;
use taishan_core::{Labels, MetricBatch, SeriesSamples, TenantId, METRIC_NAME};
use taishan_store::{Tsdb, TsdbOptions};

use super::script::{
    parse_script, Command, Eval, EvalAt, ExpectedFailure, Point, ScriptError, SeriesLine,
};
use crate::engine::functions::stats::almost_equal;
use crate::engine::selector::SelectorPlan;
use crate::engine::{each_node, Engine, QueryError, QueryLimits, QueryOutput, QueryValue};

/// Relative error tolerated between expected and actual values (Prometheus's runner's).
pub const EPSILON: f64 = 1e-6;

/// Functions that only produce results from native histograms.
const NATIVE_HISTOGRAM_FUNCTIONS: &[&str] = &[
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
    "histogram_fraction",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_quantiles",
];

/// What happened to one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Cases whose result matched.
    pub passed: usize,
    /// Cases whose result did not match, each with the reason.
    pub failures: Vec<String>,
    /// Cases skipped (native histograms), each with the reason.
    pub skipped: Vec<String>,
}

impl FileReport {
    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

/// Why a script could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The script does not parse.
    #[error("{0}")]
    Script(#[from] ScriptError),
    /// The store could not be set up or refused the data.
    #[error("line {line}: {message}")]
    Load {
        /// Line of the `load` command.
        line: usize,
        /// What went wrong.
        message: String,
    },
}

struct Store {
    _dir: tempfile::TempDir,
    db: Arc<Tsdb>,
    engine: Engine,
}

impl Store {
    fn open(line: usize) -> Result<Self, RunError> {
        let fail = |message: String| RunError::Load { line, message };
        let dir = tempfile::tempdir().map_err(|e| fail(format!("temporary directory: {e}")))?;
        let db = Arc::new(
            Tsdb::open(TsdbOptions::scratch(dir.path().to_path_buf()))
                .map_err(|e| fail(format!("opening the store: {e}")))?,
        );
        let engine = Engine::new(
            db.clone(),
            QueryLimits::default(),
            Arc::new(taishan_core::SystemClock),
        );
        Ok(Self {
            _dir: dir,
            db,
            engine,
        })
    }
}

/// Runs every command of `text`.
pub fn run_script(text: &str) -> Result<FileReport, RunError> {
    let commands = parse_script(text)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Load {
            line: 0,
            message: format!("runtime: {e}"),
        })?;
    let tenant = TenantId::default();
    let mut store: Option<Store> = None;
    let mut histograms: Vec<Labels> = Vec::new();
    let mut report = FileReport::default();
    for cmd in commands {
        match cmd {
            Command::Clear => {
                if let Some(s) = store.take() {
                    s.db.close();
                }
                histograms.clear();
            }
            Command::Load {
                line,
                interval_ms,
                series,
                with_nhcb,
            } => {
                if store.is_none() {
                    store = Some(Store::open(line)?);
                }
                let Some(s) = &store else { continue };
                load(&runtime, &s.db, &tenant, line, interval_ms, &series)?;
                for sl in &series {
                    if sl.has_histograms {
                        histograms.push(sl.labels.clone());
                    }
                    if with_nhcb {
                        if let Some(native) = nhcb_labels(&sl.labels) {
                            histograms.push(native);
                        }
                    }
                }
            }
            Command::Eval(ev) => {
                if let Some(reason) = skip_reason(&ev, &histograms) {
                    report
                        .skipped
                        .push(format!("line {}: {} ({reason})", ev.line, ev.query));
                    continue;
                }
                if store.is_none() {
                    store = Some(Store::open(ev.line)?);
                }
                let Some(s) = &store else { continue };
                let result = match ev.at {
                    EvalAt::Instant(t) => s.engine.instant(&tenant, &ev.query, t),
                    EvalAt::Range { start, end, step } => {
                        s.engine.range(&tenant, &ev.query, start, end, step)
                    }
                };
                match check(&ev, result) {
                    Ok(()) => report.passed += 1,
                    Err(why) => report
                        .failures
                        .push(format!("line {}: {}: {why}", ev.line, ev.query)),
                }
            }
        }
    }
    if let Some(s) = store.take() {
        s.db.close();
    }
    Ok(report)
}

fn load(
    runtime: &tokio::runtime::Runtime,
    db: &Tsdb,
    tenant: &TenantId,
    line: usize,
    interval_ms: i64,
    series: &[SeriesLine],
) -> Result<(), RunError> {
    // A series described twice keeps its last description, as Prometheus's runner does.
    let mut last: std::collections::HashMap<&Labels, usize> = std::collections::HashMap::new();
    for (i, s) in series.iter().enumerate() {
        last.insert(&s.labels, i);
    }
    let batch = MetricBatch::new(
        tenant.clone(),
        series
            .iter()
            .enumerate()
            .filter(|(i, s)| last.get(&s.labels) == Some(i))
            .filter_map(|(_, s)| {
                let samples = s.samples(interval_ms);
                (!samples.is_empty()).then(|| SeriesSamples {
                    labels: s.labels.clone(),
                    samples,
                })
            })
            .collect(),
    );
    let outcome = runtime
        .block_on(db.append(batch))
        .map_err(|e| RunError::Load {
            line,
            message: format!("the store refused the data: {e}"),
        })?;
    if let Some(r) = outcome.rejected.first() {
        return Err(RunError::Load {
            line,
            message: format!(
                "the store refused {} samples: {:?}",
                outcome.rejected_count(),
                r
            ),
        });
    }
    Ok(())
}

/// The native histogram `load_with_nhcb` makes of a classic `_bucket` series.
fn nhcb_labels(labels: &Labels) -> Option<Labels> {
    let name = labels.metric_name()?.strip_suffix("_bucket")?;
    labels.get("le")?;
    Some(Labels::from_sorted_unchecked(
        labels.iter().filter(|l| l.name != "le").map(|l| {
            if l.name == METRIC_NAME {
                (l.name, name)
            } else {
                (l.name, l.value)
            }
        }),
    ))
}

/// Why a case is out of scope: it involves native histograms.
fn skip_reason(ev: &Eval, histograms: &[Labels]) -> Option<String> {
    if ev.expects_histograms {
        return Some("expects native histograms".into());
    }
    let Ok(expr) = Engine::parse(&ev.query) else {
        return None;
    };
    let mut reason = None;
    each_node(&expr, &mut |e| {
        if reason.is_some() {
            return;
        }
        match e {
            Expr::Call(c) if NATIVE_HISTOGRAM_FUNCTIONS.contains(&c.func.name) => {
                reason = Some(format!("{} works on native histograms", c.func.name));
            }
            Expr::VectorSelector(vs) => {
                if let Ok(plan) = SelectorPlan::new(vs, 0, 0) {
                    if let Some(h) = histograms.iter().find(|h| plan.matches(h)) {
                        reason = Some(format!("selects native histogram series {h}"));
                    }
                }
            }
            _ => {}
        }
    });
    reason
}

/// Compares a result with the case's expectations.
fn check(ev: &Eval, result: Result<QueryOutput, QueryError>) -> Result<(), String> {
    let out = match (result, &ev.fail) {
        (Err(e), Some(expected)) => {
            let msg = e.to_string();
            let msg = msg
                .strip_prefix("invalid parameter \"query\": ")
                .unwrap_or(&msg);
            return match expected {
                ExpectedFailure::Any => Ok(()),
                ExpectedFailure::Message(m) if m == msg => Ok(()),
                ExpectedFailure::Regex(r) => match regex::Regex::new(r) {
                    Ok(re) if re.is_match(msg) => Ok(()),
                    _ => Err(format!("error {msg:?} does not match /{r}/")),
                },
                ExpectedFailure::Message(m) => Err(format!("error {msg:?}, expected {m:?}")),
            };
        }
        (Err(e), None) => return Err(format!("unexpected error: {e}")),
        (Ok(_), Some(_)) => return Err("expected an error, got a result".into()),
        (Ok(out), None) => out,
    };
    match ev.warn {
        Some(true) if out.annotations.warnings.is_empty() => {
            return Err("expected warnings, got none".into())
        }
        Some(false) if !out.annotations.warnings.is_empty() => {
            return Err(format!(
                "unexpected warnings: {:?}",
                out.annotations.warnings
            ))
        }
        _ => {}
    }
    match ev.info {
        Some(true) if out.annotations.infos.is_empty() => {
            return Err("expected info annotations, got none".into())
        }
        Some(false) if !out.annotations.infos.is_empty() => {
            return Err(format!("unexpected infos: {:?}", out.annotations.infos))
        }
        _ => {}
    }
    compare_value(ev, &out.value)
}

fn compare_value(ev: &Eval, value: &QueryValue) -> Result<(), String> {
    match value {
        QueryValue::Scalar(s) => {
            let Some(want) = ev.scalar else {
                return Err(format!(
                    "got scalar {}, expected {}",
                    s.value,
                    describe_expected(ev)
                ));
            };
            if !almost_equal(want, s.value, EPSILON) {
                return Err(format!("got scalar {}, expected {want}", s.value));
            }
            Ok(())
        }
        QueryValue::String(_, s) => match &ev.string {
            Some(want) if want == s => Ok(()),
            _ => Err(format!(
                "got string {s:?}, expected {}",
                describe_expected(ev)
            )),
        },
        QueryValue::Vector(v) => {
            if ev.scalar.is_some() {
                return Err(format!(
                    "got a vector of {} series, expected a scalar",
                    v.len()
                ));
            }
            if v.len() != ev.series.len() {
                return Err(format!(
                    "got {} series, expected {}: got {}",
                    v.len(),
                    ev.series.len(),
                    v.iter()
                        .map(|(l, s)| format!("{l} {}", s.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for (i, want) in ev.series.iter().enumerate() {
                let Some(pos) = v.iter().position(|(l, _)| *l == want.labels) else {
                    return Err(format!("missing series {}", want.labels));
                };
                if ev.ordered && pos != i {
                    return Err(format!(
                        "series {} at position {pos}, expected {i}",
                        want.labels
                    ));
                }
                let expected = match want.points.as_slice() {
                    [Point::Value(x)] => *x,
                    _ => return Err(format!("expected series {} needs one value", want.labels)),
                };
                let got = v[pos].1.value;
                if !almost_equal(expected, got, EPSILON) {
                    return Err(format!("{}: got {got}, expected {expected}", want.labels));
                }
            }
            Ok(())
        }
        QueryValue::Matrix(m) => {
            let (start, step) = match (ev.at, ev.range_vector) {
                (_, Some((from, _, step))) => (from, step),
                (EvalAt::Range { start, step, .. }, None) => (start, step),
                (EvalAt::Instant(_), None) => {
                    return Err(format!(
                        "got a range vector of {} series without 'expect range vector'",
                        m.len()
                    ))
                }
            };
            if m.len() != ev.series.len() {
                return Err(format!(
                    "got {} series, expected {}: got {}",
                    m.len(),
                    ev.series.len(),
                    m.iter()
                        .map(|s| s.labels.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for want in &ev.series {
                let Some(got) = m.iter().find(|s| s.labels == want.labels) else {
                    return Err(format!("missing series {}", want.labels));
                };
                let expected: Vec<(i64, f64)> = want
                    .points
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| match p {
                        Point::Value(v) => Some((start + i as i64 * step, *v)),
                        _ => None,
                    })
                    .collect();
                let actual: Vec<(i64, f64)> = got
                    .samples
                    .iter()
                    .map(|s| (s.timestamp_ms, s.value))
                    .collect();
                let same = expected.len() == actual.len()
                    && expected
                        .iter()
                        .zip(&actual)
                        .all(|(e, a)| e.0 == a.0 && almost_equal(e.1, a.1, EPSILON));
                if !same {
                    return Err(format!(
                        "{}: got {actual:?}, expected {expected:?}",
                        want.labels
                    ));
                }
            }
            Ok(())
        }
    }
}

fn describe_expected(ev: &Eval) -> String {
    if let Some(s) = ev.scalar {
        format!("scalar {s}")
    } else if let Some(s) = &ev.string {
        format!("string {s:?}")
    } else {
        format!("{} series", ev.series.len())
    }
}
