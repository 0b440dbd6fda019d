//! `taishan rules test`: promtool's rule unit tests (`rule_files`, `evaluation_interval`,
//! `group_eval_order`, `tests` with `input_series`, `alert_rule_test` and
//! `promql_expr_test`), run the way `promtool test rules` runs them — every group evaluated
//! from time 0 each `evaluation_interval`, firing alerts compared at each `eval_time`,
//! expressions checked afterwards — so a file passes here exactly when it passes there.

pub(crate) mod harness;
pub(crate) mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taishan_core::Labels;

use crate::file::RuleFile;
use crate::group::{EvalEnv, Group, Rule};
use crate::labelset::LabelEdit;
use harness::Harness;
use spec::{TestFile, TestGroup};
use taishan_core::duration as prom_duration;

/// The outcome of one test file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestFileReport {
    /// The file.
    pub path: PathBuf,
    /// Each failed expectation, described.
    pub failures: Vec<String>,
}

impl TestFileReport {
    /// Whether every test passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every test of the file at `path`.
pub fn run_file(path: &Path) -> TestFileReport {
    let failures = match run(path) {
        Ok(f) => f,
        Err(e) => vec![e],
    };
    TestFileReport {
        path: path.to_path_buf(),
        failures,
    }
}

/// The reports as promtool prints them: `Unit Testing: FILE` then `SUCCESS` or `FAILED:`
/// with each failure.
pub fn render(reports: &[TestFileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("Unit Testing: {}\n", r.path.display()));
        if r.passed() {
            out.push_str("  SUCCESS\n\n");
        } else {
            out.push_str("  FAILED:\n");
            for f in &r.failures {
                out.push_str(f);
                out.push_str("\n\n");
            }
        }
    }
    out
}

fn duration(text: &Option<String>, field: &str) -> Result<Option<Duration>, String> {
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => prom_duration::parse(t)
            .map(Some)
            .map_err(|e| format!("{field}: {e}")),
    }
}

fn run(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("  cannot read: {e}"))?;
    let file: TestFile = serde_yaml_ng::from_str(&text).map_err(|e| format!("  {e}"))?;
    let eval_every = duration(&file.evaluation_interval, "evaluation_interval")
        .map_err(|e| format!("  {e}"))?
        .unwrap_or(Duration::from_secs(60));
    if eval_every.is_zero() {
        return Err("  evaluation_interval must be above 0".into());
    }
    let mut order = BTreeMap::new();
    for (i, g) in file.group_eval_order.iter().enumerate() {
        if order.insert(g.clone(), i).is_some() {
            return Err(format!("  group name repeated in evaluation order: {g}"));
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rule_files = Vec::new();
    for pattern in &file.rule_files {
        let matched = taishan_template::paths::glob(base, pattern);
        if matched.is_empty() {
            eprintln!("  WARNING: no file match pattern {pattern}");
        }
        for p in matched {
            let loaded = RuleFile::load(&p).map_err(|errs| {
                errs.iter()
                    .map(|e| format!("    {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            rule_files.push(loaded);
        }
    }
    let mut failures = Vec::new();
    for test in &file.tests {
        failures.extend(run_test(test, eval_every, &order, &rule_files)?);
    }
    Ok(failures)
}

fn run_test(
    test: &TestGroup,
    eval_every: Duration,
    order: &BTreeMap<String, usize>,
    files: &[RuleFile],
) -> Result<Vec<String>, String> {
    let named = |msg: String| {
        if test.name.is_empty() {
            msg
        } else {
            format!("    name: {},\n{msg}", test.name)
        }
    };
    let interval = duration(&test.interval, "interval")?.unwrap_or(eval_every);
    let harness = Harness::new(eval_every)?;
    harness.load(&test.input_series, interval)?;
    let mut groups: Vec<Group> = files
        .iter()
        .flat_map(|f| {
            f.groups
                .iter()
                .map(move |g| Group::new(&f.path, g, interval, true))
        })
        .collect();
    groups.sort_by_key(|g| order.get(&g.name).copied().unwrap_or(0));

    let mut alert_times: Vec<(Duration, usize)> = Vec::new();
    for (i, t) in test.alert_rule_test.iter().enumerate() {
        if t.alertname.is_empty() {
            return Err(named(format!(
                "    an item under alert_rule_test misses required attribute alertname at eval_time {}",
                t.eval_time
            )));
        }
        let at = prom_duration::parse(&t.eval_time).map_err(|e| format!("    eval_time: {e}"))?;
        alert_times.push((at, i));
    }
    alert_times.sort();
    let mut expr_times = Vec::new();
    for t in &test.promql_expr_test {
        expr_times
            .push(prom_duration::parse(&t.eval_time).map_err(|e| format!("    eval_time: {e}"))?);
    }
    let max = alert_times
        .iter()
        .map(|(t, _)| *t)
        .chain(expr_times.iter().copied())
        .max()
        .unwrap_or_default();

    let external_labels = test.external_labels.clone();
    let mut failures = Vec::new();
    let mut next_alert = 0;
    let every_ms = eval_every.as_millis() as i64;
    let mut ts = 0i64;
    while ts <= max.as_millis() as i64 {
        let env = EvalEnv {
            engine: &harness.engine,
            writer: &harness,
            external_labels: &external_labels,
            external_url: &test.external_url,
        };
        let mut errors = Vec::new();
        for g in groups.iter_mut() {
            g.eval(ts, &env);
            for (spec, _, status) in g.rules() {
                if let Some(e) = &status.last_error {
                    errors.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        spec.name(),
                        prom_duration::format_ms(ts)
                    ));
                }
            }
        }
        if !errors.is_empty() {
            failures.extend(errors);
            return Ok(failures);
        }
        while let Some((at, i)) = alert_times.get(next_alert).copied() {
            let at_ms = at.as_millis() as i64;
            if !(ts <= at_ms && at_ms < ts + every_ms) {
                break;
            }
            if let Some(f) = check_alerts(&test.alert_rule_test[i], &groups) {
                failures.push(named(f));
            }
            next_alert += 1;
        }
        ts += every_ms;
    }
    for (t, at) in test.promql_expr_test.iter().zip(expr_times) {
        if let Some(f) = harness.check_expr(t, at) {
            failures.push(named(f));
        }
    }
    Ok(failures)
}

/// An alert as compared: labels and annotations, sorted.
type Compared = (Labels, Vec<(String, String)>);

fn describe(alerts: &[Compared]) -> String {
    if alerts.is_empty() {
        return "[]".into();
    }
    let items: Vec<String> = alerts
        .iter()
        .enumerate()
        .map(|(i, (l, a))| {
            let ann: Vec<String> = a.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!(
                "{i}:\n              Labels:{l}\n              Annotations:{{{}}}",
                ann.join(", ")
            )
        })
        .collect();
    format!(
        "[\n            {}\n            ]",
        items.join(",\n            ")
    )
}

fn check_alerts(t: &spec::AlertTest, groups: &[Group]) -> Option<String> {
    let mut got: Vec<Compared> = Vec::new();
    for g in groups {
        for (_, rule, _) in g.rules() {
            let Rule::Alerting(a) = rule else { continue };
            if a.name() != t.alertname {
                continue;
            }
            for alert in a.alerts() {
                if alert.resolved_at_ms == 0 && alert.state == crate::alert::AlertState::Firing {
                    got.push((
                        alert.labels.clone(),
                        alert
                            .annotations
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ));
                }
            }
        }
    }
    let mut expected: Vec<Compared> = t
        .exp_alerts
        .iter()
        .map(|e| {
            let mut edit = LabelEdit::default();
            for (k, v) in &e.exp_labels {
                edit.set(k, v.clone());
            }
            edit.set(crate::alert::ALERT_NAME, t.alertname.clone());
            (
                edit.build(),
                e.exp_annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        })
        .collect();
    got.sort();
    expected.sort();
    (got != expected).then(|| {
        format!(
            "    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
            t.alertname,
            t.eval_time,
            describe(&expected),
            describe(&got)
        )
    })
}

#[cfg(test)]
mod tests;
