//! A rule group: its rules evaluated in order at one instant, their output written so
//! later rules of the group see it, and series a rule stops producing marked stale.

use crate::eval_error::RuleEvalError;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;
use promql_parser::util::{walk_expr, ExprVisitor};
use taishan_core::{AppendError, Labels, Sample, TenantId, METRIC_NAME};
use taishan_query::{Engine, Grid, QueryValue};

use crate::alert::{ALERTS_FOR_STATE_METRIC, ALERTS_METRIC};
use crate::alerting::{AlertContext, AlertingRule};
use crate::file::{GroupSpec, RuleKind, RuleSpec};
use crate::recording::RecordingRule;
use taishan_template::{QuerySample, TemplateQuery, TemplateQueryError};

/// Where a group's output goes: the store, through the bus or directly.
pub trait SampleWriter: Send + Sync {
    /// Writes `series` for `tenant`; returns how many samples the store refused (out of
    /// order, duplicate), or why nothing was written.
    fn write(&self, tenant: &TenantId, series: Vec<(Labels, Sample)>)
        -> Result<usize, AppendError>;
}

/// A rule of either kind.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Records series.
    Recording(RecordingRule),
    /// Makes alerts.
    Alerting(AlertingRule),
}

/// Whether a rule's last evaluation worked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStatus {
    /// The last error, `None` when the last evaluation succeeded.
    pub last_error: Option<String>,
    /// When it last ran (ms), 0 if never.
    pub last_eval_ms: i64,
    /// How long that took.
    pub eval_seconds: f64,
}

/// What one evaluation of a group did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupRun {
    /// The evaluation instant (ms).
    pub at_ms: i64,
    /// Seconds it took.
    pub seconds: f64,
    /// Samples the rules produced.
    pub samples: usize,
    /// Rules that failed.
    pub failed: usize,
    /// Samples the store refused.
    pub refused: usize,
}

/// What evaluation reaches outside the group.
pub struct EvalEnv<'a> {
    /// Answers the rules' queries.
    pub engine: &'a Engine,
    /// Takes their output.
    pub writer: &'a dyn SampleWriter,
    /// `$externalLabels` in alert templates.
    pub external_labels: &'a BTreeMap<String, String>,
    /// `$externalURL`.
    pub external_url: &'a str,
}

/// Which metric names an expression reads.
#[derive(Debug, Clone, Default)]
struct Reads {
    /// A selector without a fixed name (`{job="x"}`, `{__name__=~"..."}`): anything.
    any: bool,
    names: HashSet<String>,
}

impl ExprVisitor for Reads {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        let vs = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(true),
        };
        let fixed = vs.name.clone().or_else(|| {
            vs.matchers
                .matchers
                .iter()
                .find(|m| {
                    m.name == METRIC_NAME && matches!(m.op, promql_parser::label::MatchOp::Equal)
                })
                .map(|m| m.value.clone())
        });
        match fixed {
            Some(n) if vs.matchers.or_matchers.is_empty() => {
                self.names.insert(n);
            }
            _ => self.any = true,
        }
        Ok(true)
    }
}

fn reads_of(expr: &Expr) -> Reads {
    let mut r = Reads::default();
    let _ = walk_expr(&mut r, expr);
    r
}

/// Template `query` against the group's tenant.
struct GroupQuery<'a> {
    engine: &'a Engine,
    tenant: &'a TenantId,
}

impl TemplateQuery for GroupQuery<'_> {
    fn query(&self, query: &str, time_ms: i64) -> Result<Vec<QuerySample>, TemplateQueryError> {
        let failed = |e: &dyn std::fmt::Display| TemplateQueryError(e.to_string());
        let out = self
            .engine
            .instant(self.tenant, query, time_ms)
            .map_err(|e| failed(&e))?;
        Ok(vector(out.value)
            .map_err(|e| failed(&e))?
            .into_iter()
            .map(|(labels, value)| QuerySample {
                labels: crate::labelset::to_map(&labels),
                value,
            })
            .collect())
    }
}

/// A query's value as the vector a rule works on; a scalar is one unlabelled element.
fn vector(value: QueryValue) -> Result<Vec<(Labels, f64)>, RuleEvalError> {
    match value {
        QueryValue::Vector(v) => Ok(v.into_iter().map(|(l, s)| (l, s.value)).collect()),
        QueryValue::Scalar(s) => Ok(vec![(Labels::default(), s.value)]),
        _ => Err(RuleEvalError::NotAVector),
    }
}

/// A group of rules and everything it remembers between evaluations.
#[derive(Debug, Clone)]
pub struct Group {
    /// The file it came from.
    pub file: String,
    /// Its name, unique within the file.
    pub name: String,
    /// How often it runs.
    pub interval: Duration,
    /// Most series or alerts per rule (0: no limit).
    pub limit: usize,
    /// How far in the past it evaluates.
    pub query_offset: Duration,
    /// Whose series it reads and writes.
    pub tenant: TenantId,
    specs: Vec<RuleSpec>,
    rules: Vec<Rule>,
    reads: Vec<Reads>,
    status: Vec<RuleStatus>,
    previous: Vec<HashSet<Labels>>,
    last_run: Option<GroupRun>,
}

impl Group {
    /// A group from `spec` of `file`; `default_interval` applies when the group names none.
    /// Alerting rules start `restored` or wait for [`crate::restore`].
    pub fn new(file: &str, spec: &GroupSpec, default_interval: Duration, restored: bool) -> Self {
        let rules: Vec<Rule> = spec
            .rules
            .iter()
            .map(|r| match &r.kind {
                RuleKind::Recording { record } => {
                    Rule::Recording(RecordingRule::new(record.clone(), r.labels.clone()))
                }
                RuleKind::Alerting {
                    alert,
                    hold,
                    keep_firing_for,
                    annotations,
                } => Rule::Alerting(AlertingRule::new(
                    alert.clone(),
                    *hold,
                    *keep_firing_for,
                    r.labels.clone(),
                    annotations.clone(),
                    restored,
                )),
            })
            .collect();
        Self {
            file: file.to_string(),
            name: spec.name.clone(),
            interval: spec.interval.unwrap_or(default_interval),
            limit: spec.limit,
            query_offset: spec.query_offset.unwrap_or_default(),
            tenant: spec.tenant.clone(),
            reads: spec.rules.iter().map(|r| reads_of(&r.parsed)).collect(),
            status: vec![RuleStatus::default(); rules.len()],
            previous: vec![HashSet::new(); rules.len()],
            specs: spec.rules.clone(),
            rules,
            last_run: None,
        }
    }

    /// The rules with their specs and status, in evaluation order.
    pub fn rules(&self) -> impl Iterator<Item = (&RuleSpec, &Rule, &RuleStatus)> {
        self.specs
            .iter()
            .zip(&self.rules)
            .zip(&self.status)
            .map(|((s, r), st)| (s, r, st))
    }

    /// The alerting rules, to restore or inspect.
    pub fn alerting_rules_mut(&mut self) -> impl Iterator<Item = &mut AlertingRule> {
        self.rules.iter_mut().filter_map(|r| match r {
            Rule::Alerting(a) => Some(a),
            Rule::Recording(_) => None,
        })
    }

    /// The last evaluation, if any.
    pub fn last_run(&self) -> Option<&GroupRun> {
        self.last_run.as_ref()
    }

    /// Takes over alert state and series bookkeeping from the same group before a reload,
    /// matching rules by name and expression.
    pub fn adopt(&mut self, old: &Group) {
        let mut taken = vec![false; old.rules.len()];
        for (i, spec) in self.specs.iter().enumerate() {
            let found = old
                .specs
                .iter()
                .enumerate()
                .position(|(j, s)| !taken[j] && s.name() == spec.name() && s.expr == spec.expr);
            let Some(j) = found else { continue };
            taken[j] = true;
            self.previous[i] = old.previous[j].clone();
            self.status[i] = old.status[j].clone();
            if let (Rule::Alerting(new), Rule::Alerting(prev)) = (&mut self.rules[i], &old.rules[j])
            {
                new.adopt_alerts(prev);
            }
        }
        self.last_run = old.last_run.clone();
    }

    /// Every series the group wrote at its last evaluation, to mark stale when it goes.
    pub fn written_series(&self) -> Vec<Labels> {
        self.previous.iter().flatten().cloned().collect()
    }

    fn output_names(rule: &Rule) -> [&str; 2] {
        match rule {
            Rule::Recording(r) => [r.record(), r.record()],
            Rule::Alerting(_) => [ALERTS_METRIC, ALERTS_FOR_STATE_METRIC],
        }
    }

    fn flush(&self, pending: &mut Vec<(Labels, Sample)>, env: &EvalEnv<'_>, run: &mut GroupRun) {
        if pending.is_empty() {
            return;
        }
        let batch = std::mem::take(pending);
        match env.writer.write(&self.tenant, batch) {
            Ok(refused) => run.refused += refused,
            Err(e) => {
                tracing::warn!(group = %self.name, file = %self.file, error = %e, "rule results not written")
            }
        }
    }

    /// Evaluates every rule at `ts_ms` and writes what they produce.
    pub fn eval(&mut self, ts_ms: i64, env: &EvalEnv<'_>) -> GroupRun {
        let started = Instant::now();
        let sample_ms = ts_ms - self.query_offset.as_millis() as i64;
        let mut run = GroupRun {
            at_ms: ts_ms,
            ..GroupRun::default()
        };
        let mut pending: Vec<(Labels, Sample)> = Vec::new();
        let mut pending_names: HashSet<String> = HashSet::new();
        let query = GroupQuery {
            engine: env.engine,
            tenant: &self.tenant,
        };
        for i in 0..self.rules.len() {
            // A rule reading what an earlier rule just produced must see it: write first.
            let reads = &self.reads[i];
            if !pending.is_empty()
                && (reads.any || reads.names.iter().any(|n| pending_names.contains(n)))
            {
                self.flush(&mut pending, env, &mut run);
                pending_names.clear();
            }
            let rule_started = Instant::now();
            let result = env
                .engine
                .run(
                    &self.tenant,
                    &self.specs[i].parsed,
                    Grid::instant(sample_ms),
                    false,
                )
                .map_err(RuleEvalError::from)
                .and_then(|out| vector(out.value));
            let produced = result.and_then(|result| match &mut self.rules[i] {
                Rule::Recording(r) => r.eval(sample_ms, result, self.limit),
                Rule::Alerting(a) => a.eval(
                    ts_ms,
                    sample_ms,
                    result,
                    &AlertContext {
                        external_labels: env.external_labels,
                        external_url: env.external_url,
                        query: Some(&query),
                        limit: self.limit,
                    },
                ),
            });
            let status = &mut self.status[i];
            status.last_eval_ms = ts_ms;
            status.eval_seconds = rule_started.elapsed().as_secs_f64();
            match produced {
                Ok(samples) => {
                    status.last_error = None;
                    run.samples += samples.len();
                    let now: HashSet<Labels> = samples.iter().map(|(l, _)| l.clone()).collect();
                    for gone in self.previous[i].difference(&now) {
                        pending.push((gone.clone(), Sample::stale(sample_ms)));
                    }
                    self.previous[i] = now;
                    pending.extend(samples);
                    for n in Self::output_names(&self.rules[i]) {
                        pending_names.insert(n.to_string());
                    }
                }
                Err(e) => {
                    run.failed += 1;
                    tracing::warn!(group = %self.name, file = %self.file, rule = %self.specs[i].name(), index = i, error = %e, "evaluating rule failed");
                    status.last_error = Some(e.to_string());
                }
            }
        }
        self.flush(&mut pending, env, &mut run);
        run.seconds = started.elapsed().as_secs_f64();
        self.last_run = Some(run.clone());
        run
    }
}
