//! Running groups on their interval: one task per group waits for its next slot on the
//! injected clock, evaluates it on a blocking thread, restores `for` state after the second
//! evaluation following a start, and tells listeners (actions, notifiers) what happened.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use taishan_core::{AppendError, Bus, Clock, Labels, MetricBatch, Sample, TenantId};
use taishan_query::Engine;
use taishan_store::Tsdb;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::file::RuleFile;
use crate::group::{EvalEnv, Group, GroupRun, SampleWriter};
use crate::metrics::RuleMetrics;
use crate::restore::restore_for_state;
use crate::schedule::{slot_at_or_before, slot_offset_ns};

/// Hears about every group evaluation.
pub trait EvaluationListener: Send + Sync {
    /// Called after `group` was evaluated, while it is still locked.
    fn on_evaluated(&self, group: &Group, run: &GroupRun);
}

/// A group in force, and what the API shows of it: refreshed after every evaluation, so a
/// reader never waits for an evaluation and an evaluation never waits for a reader.
pub struct GroupSlot {
    group: Mutex<Group>,
    view: RwLock<Arc<GroupView>>,
}

/// A group as the API shows it.
#[derive(Debug)]
pub struct GroupView {
    /// Whose group it is.
    pub tenant: TenantId,
    /// Its `/api/v1/rules` entry.
    pub json: serde_json::Value,
}

impl GroupSlot {
    fn new(group: Group) -> Self {
        let view = RwLock::new(Arc::new(Self::render(&group)));
        Self {
            group: Mutex::new(group),
            view,
        }
    }

    fn render(g: &Group) -> GroupView {
        GroupView {
            tenant: g.tenant.clone(),
            json: crate::api::group_json(g),
        }
    }

    /// The group as of its last evaluation.
    pub fn view(&self) -> Arc<GroupView> {
        self.view.read().clone()
    }

    /// The group itself, locked (evaluation holds it).
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, Group> {
        self.group.lock()
    }
}

/// How groups are evaluated.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Interval of groups that name none.
    pub default_interval: Duration,
    /// `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`.
    pub external_url: String,
    /// Oldest `for` state restored after a restart.
    pub outage_tolerance: Duration,
    /// Least wait of a restored alert close to firing.
    pub for_grace_period: Duration,
}

/// Writes rule output through the bus (durable before it returns).
pub struct BusWriter {
    bus: Arc<dyn Bus>,
    runtime: tokio::runtime::Handle,
}

impl BusWriter {
    /// Publishes on `bus`, driving the futures on `runtime` (callers are blocking threads).
    pub fn new(bus: Arc<dyn Bus>, runtime: tokio::runtime::Handle) -> Self {
        Self { bus, runtime }
    }
}

impl SampleWriter for BusWriter {
    fn write(
        &self,
        tenant: &TenantId,
        series: Vec<(Labels, Sample)>,
    ) -> Result<usize, AppendError> {
        let batch = MetricBatch::from_samples(tenant.clone(), series);
        let outcome = self.runtime.block_on(self.bus.publish(batch))?;
        Ok(outcome.rejected_count())
    }
}

/// The groups in force and the tasks running them.
pub struct RuleManager {
    engine: Engine,
    db: Arc<Tsdb>,
    writer: Arc<dyn SampleWriter>,
    clock: Arc<dyn Clock>,
    options: ManagerOptions,
    metrics: RuleMetrics,
    groups: RwLock<Vec<Arc<GroupSlot>>>,
    listeners: RwLock<Vec<Arc<dyn EvaluationListener>>>,
    generation: Mutex<Option<(CancellationToken, Vec<JoinHandle<()>>)>>,
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager")
            .field("groups", &self.groups.read().len())
            .finish()
    }
}

impl RuleManager {
    /// A manager with no groups yet.
    pub fn new(
        engine: Engine,
        db: Arc<Tsdb>,
        writer: Arc<dyn SampleWriter>,
        clock: Arc<dyn Clock>,
        options: ManagerOptions,
        metrics: RuleMetrics,
    ) -> Arc<Self> {
        let engine = engine.with_default_subquery_step(options.default_interval);
        Arc::new(Self {
            engine,
            db,
            writer,
            clock,
            options,
            metrics,
            groups: RwLock::new(Vec::new()),
            listeners: RwLock::new(Vec::new()),
            generation: Mutex::new(None),
        })
    }

    /// Replaces every listener (at start, and when a reload brings new actions).
    pub fn replace_listeners(&self, listeners: Vec<Arc<dyn EvaluationListener>>) {
        *self.listeners.write() = listeners;
    }

    /// The groups in force.
    pub fn groups(&self) -> Vec<Arc<GroupSlot>> {
        self.groups.read().clone()
    }

    fn now_ns(&self) -> i64 {
        self.clock.now_ms().saturating_mul(1_000_000)
    }

    /// Replaces the groups with those of `files` and (re)starts their tasks. The first call
    /// restores alerts' `for` state from storage; later calls carry each group's state over
    /// to its new version, and mark stale what removed groups had written.
    pub async fn apply(self: &Arc<Self>, files: &[RuleFile]) {
        let first = self.generation.lock().is_none();
        let old: Vec<Arc<GroupSlot>> = self.groups.read().clone();
        let same = |slot: &GroupSlot, g: &Group| {
            let o = slot.lock();
            o.file == g.file && o.name == g.name
        };
        let mut fresh = Vec::new();
        for f in files {
            for spec in &f.groups {
                let mut g = Group::new(&f.path, spec, self.options.default_interval, !first);
                if let Some(prev) = old.iter().find(|o| same(o, &g)) {
                    g.adopt(&prev.lock());
                }
                fresh.push(g);
            }
        }
        if let Some((cancel, tasks)) = self.generation.lock().take() {
            cancel.cancel();
            for t in tasks {
                t.abort();
            }
        }
        let now_ms = self.clock.now_ms();
        for gone in old.iter().filter(|o| !fresh.iter().any(|g| same(o, g))) {
            let (stale, tenant, k): (Vec<(Labels, Sample)>, TenantId, String) = {
                let g = gone.lock();
                let stale = g
                    .written_series()
                    .into_iter()
                    .map(|l| (l, Sample::stale(now_ms)))
                    .collect();
                (stale, g.tenant.clone(), key(&g))
            };
            if !stale.is_empty() {
                let writer = self.writer.clone();
                let _ = tokio::task::spawn_blocking(move || writer.write(&tenant, stale)).await;
            }
            self.metrics.rules.remove_label_values(&[&k]).ok();
        }
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();
        let groups: Vec<Arc<GroupSlot>> = fresh
            .into_iter()
            .map(|g| Arc::new(GroupSlot::new(g)))
            .collect();
        for g in &groups {
            let (k, n) = {
                let locked = g.lock();
                (key(&locked), locked.rules().count())
            };
            self.metrics.rules.with_label_values(&[&k]).set(n as f64);
            tasks.push(tokio::spawn(self.clone().run_group(
                g.clone(),
                first,
                cancel.clone(),
            )));
        }
        *self.groups.write() = groups;
        *self.generation.lock() = Some((cancel, tasks));
        tracing::info!(
            groups = self.groups.read().len(),
            files = files.len(),
            "rule groups loaded"
        );
    }

    /// Stops every group task.
    pub fn stop(&self) {
        if let Some((cancel, _)) = self.generation.lock().take() {
            cancel.cancel();
        }
    }

    async fn run_group(
        self: Arc<Self>,
        group: Arc<GroupSlot>,
        restore: bool,
        cancel: CancellationToken,
    ) {
        let (k, file, name, interval) = {
            let g = group.lock();
            (key(&g), g.file.clone(), g.name.clone(), g.interval)
        };
        let interval_ns = interval.as_nanos().clamp(1, i64::MAX as u128) as i64;
        let offset = slot_offset_ns(&file, &name, interval);
        let mut next = slot_at_or_before(self.now_ns(), offset, interval) + interval_ns;
        let mut evaluations = 0u64;
        loop {
            loop {
                let now = self.now_ns();
                if now >= next {
                    break;
                }
                // The slot's millisecond, rounded up: the clock's unit.
                let due_ms = next.div_euclid(1_000_000) + i64::from(next % 1_000_000 != 0);
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = self.clock.sleep_until(due_ms) => {}
                }
            }
            let missed = (self.now_ns() - next) / interval_ns;
            if missed > 0 {
                self.metrics
                    .missed
                    .with_label_values(&[&k])
                    .inc_by(missed as u64);
                next += missed * interval_ns;
            }
            let ts_ms = next.div_euclid(1_000_000);
            let restore_now = restore && evaluations == 1;
            let this = self.clone();
            let g = group.clone();
            let evaluated =
                tokio::task::spawn_blocking(move || this.evaluate(&g, ts_ms, restore_now));
            let run = tokio::select! {
                _ = cancel.cancelled() => return,
                r = evaluated => r,
            };
            match run {
                Ok(run) => {
                    let m = &self.metrics;
                    m.iterations.with_label_values(&[&k]).inc();
                    m.last_duration.with_label_values(&[&k]).set(run.seconds);
                    m.duration.with_label_values(&[&k]).observe(run.seconds);
                    m.last_evaluation
                        .with_label_values(&[&k])
                        .set(ts_ms as f64 / 1000.0);
                    m.last_samples
                        .with_label_values(&[&k])
                        .set(run.samples as f64);
                    if run.failed > 0 {
                        m.failures
                            .with_label_values(&[&k])
                            .inc_by(run.failed as u64);
                    }
                }
                Err(e) => {
                    tracing::error!(group = %name, file = %file, error = %e, "rule group evaluation panicked")
                }
            }
            evaluations += 1;
            next += interval_ns;
        }
    }

    /// Evaluates one group at `ts_ms` (blocking), restoring its `for` state when asked.
    pub fn evaluate(&self, slot: &GroupSlot, ts_ms: i64, restore: bool) -> GroupRun {
        let mut g = slot.group.lock();
        let env = EvalEnv {
            engine: &self.engine,
            writer: self.writer.as_ref(),
            external_labels: &self.options.external_labels,
            external_url: &self.options.external_url,
        };
        let run = g.eval(ts_ms, &env);
        if restore {
            restore_for_state(
                &mut g,
                &self.db,
                self.clock.now_ms(),
                self.options.outage_tolerance,
                self.options.for_grace_period,
            );
        }
        for l in self.listeners.read().iter() {
            l.on_evaluated(&g, &run);
        }
        *slot.view.write() = Arc::new(GroupSlot::render(&g));
        run
    }
}

/// `file;name`, the group's key in metrics and logs.
pub fn key(g: &Group) -> String {
    format!("{};{}", g.file, g.name)
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
