//! `taishan alerts test FILE...`: batches of routing cases, checked against an
//! alertmanager.yml (and on-call file) without running anything. Each case posts a set of
//! firing alerts at a moment and says, for the alerts it picks by labels, which receivers
//! they reach, who is paged first and whether they are inhibited; a case that differs
//! prints the difference. Exits 1 when any case fails or a file is refused.
//!
//! ```yaml
//! config: alertmanager.yml          # relative to this file
//! oncall: oncall.yml                # optional
//! tests:
//!   - name: a payment page reaches the payments on-call
//!     at: 2026-12-05T03:00:00+08:00   # who is on call then (default: now)
//!     alerts:
//!       - {alertname: PaymentsFailing, service: payment, severity: page}
//!       - {alertname: BankDown, channel: bank-a, severity: critical}
//!     expect:
//!       - alert: {alertname: PaymentsFailing}
//!         receivers: [payments]
//!         paged: [alice]
//!         inhibited: false
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;
use taishan_alerter::inhibit::inhibited_by;
use taishan_alerter::{Alert, CompiledConfig, LabelSet};
use taishan_core::config::{read_section, FieldError};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    at: Option<String>,
    alerts: Vec<LabelSet>,
    expect: Vec<Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    alert: LabelSet,
    #[serde(default)]
    receivers: Option<Vec<String>>,
    #[serde(default)]
    paged: Option<Vec<String>>,
    #[serde(default)]
    inhibited: Option<bool>,
}

#[derive(Debug, Default)]
struct TestFile {
    config: String,
    oncall: Option<String>,
    tests: Vec<Case>,
}

/// Runs every file; the report and whether all passed.
pub fn run(files: &[std::path::PathBuf]) -> anyhow::Result<(String, bool)> {
    let mut out = String::new();
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let (tf, base) = read(file)?;
        let config = base.join(&tf.config);
        let oncall = tf.oncall.as_ref().map(|o| base.join(o));
        let compiled =
            CompiledConfig::load_files(&config, oncall.as_deref(), &reqwest::Client::new())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("{} is refused", config.display()))?;
        for (i, case) in tf.tests.iter().enumerate() {
            let problems = check(&compiled, case)
                .with_context(|| format!("{}: tests[{i}]", file.display()))?;
            if problems.is_empty() {
                passed += 1;
                out.push_str(&format!("PASS {}\n", case.name));
            } else {
                failed += 1;
                out.push_str(&format!("FAIL {}\n", case.name));
                for p in problems {
                    out.push_str(&format!("  {p}\n"));
                }
            }
        }
    }
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    Ok((out, failed == 0))
}

fn read(file: &Path) -> anyhow::Result<(TestFile, std::path::PathBuf)> {
    let (name, text) =
        taishan_alerter::config::read_file(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tf = taishan_alerter::config::parse_placed(&name, &text, |root| {
        let mut errors = Vec::new();
        let mut tf = TestFile::default();
        let serde_yaml_ng::Value::Mapping(m) = root else {
            return Err(vec![FieldError::new(
                "",
                "a test file is a mapping with config and tests",
            )]);
        };
        for (key, value) in m {
            match key.as_str().unwrap_or_default() {
                "config" => read_section("config", value, &mut errors, &mut tf.config),
                "oncall" => read_section("oncall", value, &mut errors, &mut tf.oncall),
                "tests" => read_section("tests", value, &mut errors, &mut tf.tests),
                other => errors.push(FieldError::new(
                    other,
                    format!("unknown key `{other}`; known: config, oncall, tests"),
                )),
            }
        }
        if tf.config.is_empty() && errors.is_empty() {
            errors.push(FieldError::new(
                "config",
                "the alertmanager.yml to test is missing",
            ));
        }
        if errors.is_empty() {
            Ok(tf)
        } else {
            Err(errors)
        }
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    Ok((tf, base))
}

/// The differences between what `case` expects and what the config does.
fn check(c: &CompiledConfig, case: &Case) -> anyhow::Result<Vec<String>> {
    let at = match &case.at {
        Some(t) => taishan_alerter::timefmt::parse_time(t)
            .with_context(|| format!("at {t:?} is not an RFC 3339 time"))?,
        None => taishan_core::Clock::now_ms(&taishan_core::SystemClock),
    };
    let firing: Vec<Arc<Alert>> = case
        .alerts
        .iter()
        .map(|labels| {
            Arc::new(Alert {
                labels: labels.clone(),
                annotations: LabelSet::new(),
                starts_at_ms: at,
                ends_at_ms: 0,
                generator_url: String::new(),
                updated_at_ms: at,
                timeout: false,
            })
        })
        .collect();
    let mut problems = Vec::new();
    for e in &case.expect {
        let picked: Vec<&Arc<Alert>> = firing
            .iter()
            .filter(|a| e.alert.iter().all(|(k, v)| a.labels.get(k) == Some(v)))
            .collect();
        let which = describe(&e.alert);
        if picked.is_empty() {
            problems.push(format!("{which}: no alert of the case has these labels"));
        }
        for a in picked {
            let (receivers, paged) = reached(c, &a.labels, at);
            let inhibited = !inhibited_by(&c.inhibit_rules, &a.labels, &firing).is_empty();
            let name = describe(&a.labels);
            if let Some(want) = &e.receivers {
                let want: BTreeSet<String> = want.iter().cloned().collect();
                if want != receivers {
                    problems.push(format!(
                        "{name}: receivers: want {want:?}, got {receivers:?}"
                    ));
                }
            }
            if let Some(want) = &e.paged {
                let want: BTreeSet<String> = want.iter().cloned().collect();
                if want != paged {
                    problems.push(format!("{name}: paged: want {want:?}, got {paged:?}"));
                }
            }
            if let Some(want) = e.inhibited {
                if want != inhibited {
                    problems.push(format!("{name}: inhibited: want {want}, got {inhibited}"));
                }
            }
        }
    }
    Ok(problems)
}

/// The receivers `labels` reach and who their teams page first at `at`.
fn reached(c: &CompiledConfig, labels: &LabelSet, at: i64) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut receivers, mut paged) = (BTreeSet::new(), BTreeSet::new());
    for id in c.routes.matches(labels) {
        let receiver = c.routes.node(id).options.receiver.clone();
        if let Some(t) = c.team_for(&receiver, labels) {
            paged.extend(t.paged_at(0, at).into_iter().map(|p| p.member));
        }
        receivers.insert(receiver);
    }
    (receivers, paged)
}

fn describe(labels: &LabelSet) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}
