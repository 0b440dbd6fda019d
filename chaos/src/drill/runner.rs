//! The drill runner: checks the steady state, injects the faults on their schedule (renewing
//! their leases), watches for the alert, the notification, the guard's action and the loss,
//! aborts on the drill's conditions, reverts, waits for recovery and for the books to
//! settle, and hands the timeline and the money proof to [`judge`].
//!
//! Every fault it armed is disarmed before it returns, whatever happened; if the runner
//! itself dies, the leases it stopped renewing take the faults back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use taishan_core::Clock;

use crate::drill::loss::LossTrace;
use crate::drill::platform::{Books, Platform};
use crate::drill::report::{judge, not_run, DrillReport, MoneyProof, RootCauseCheck, Timeline};
use crate::drill::spec::DrillSpec;

/// How the runner paces itself.
#[derive(Clone)]
pub struct RunOptions {
    /// Time between observations.
    pub poll: Duration,
    /// The lease each fault is armed with (renewed every third of it).
    pub lease: Duration,
    /// How long the loss is watched before the faults, for its noise.
    pub baseline: Duration,
    /// How long the loss must stay flat to count as stopped.
    pub quiet: Duration,
    /// How long the steady state may take to hold before the faults.
    pub steady_wait: Duration,
    /// How long the books get to settle (every payment final, compensation drained).
    pub settle: Duration,
    /// Set to stop the drill now (reverting everything).
    pub stop: Arc<AtomicBool>,
    /// Told of each step, one line each.
    pub progress: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(15),
            baseline: Duration::from_secs(10),
            quiet: Duration::from_secs(30),
            steady_wait: Duration::from_secs(120),
            settle: Duration::from_secs(300),
            stop: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(|_| {}),
        }
    }
}

/// How often the books are read for the money cap while the faults are in.
const BOOKS_EVERY_MS: i64 = 5_000;

/// Runs `spec` against `platform`; never leaves a fault armed.
pub async fn run_drill(
    spec: &DrillSpec,
    platform: &dyn Platform,
    clock: &dyn Clock,
    opts: &RunOptions,
) -> DrillReport {
    let mut run = Run {
        spec,
        platform,
        clock,
        opts,
        started_ms: clock.now_ms(),
        timeline: Timeline::default(),
        loss: LossTrace::default(),
        armed: vec![None; spec.faults.len()],
        done: vec![false; spec.faults.len()],
        noise_per_s: 0.0,
        ranking: None,
    };
    let result = run.execute().await;
    run.disarm_all().await;
    let mut report = match result {
        Ok(money) => judge(spec, run.timeline.clone(), money),
        Err(why) => not_run(spec, why),
    };
    report.root_cause = run
        .ranking
        .take()
        .map(|ranking| RootCauseCheck::new(spec, ranking));
    report.timeline.started_ms = run.started_ms;
    report.timeline.finished_ms = clock.now_ms();
    report.loss_after_stop = report
        .timeline
        .loss_stopped_ms
        .map_or(0.0, |t| run.loss.growth_after(t));
    report.loss = run.loss.samples;
    report
}

struct Run<'a> {
    spec: &'a DrillSpec,
    platform: &'a dyn Platform,
    clock: &'a dyn Clock,
    opts: &'a RunOptions,
    started_ms: i64,
    timeline: Timeline,
    loss: LossTrace,
    /// The id of each fault while it is armed.
    armed: Vec<Option<String>>,
    /// Faults whose time is over.
    done: Vec<bool>,
    noise_per_s: f64,
    /// The root-cause ranking of the expected alert, once asked.
    ranking: Option<Vec<String>>,
}

impl Run<'_> {
    fn say(&self, line: &str) {
        tracing::info!(drill = %self.spec.name, "{line}");
        (self.opts.progress)(line);
    }

    fn since(&self, from_ms: i64) -> String {
        format!("{:.1}s", (self.clock.now_ms() - from_ms) as f64 / 1000.0)
    }

    async fn execute(&mut self) -> Result<MoneyProof, String> {
        self.steady_before().await?;
        let before = self
            .platform
            .books(self.started_ms, self.clock.now_ms(), false)
            .await
            .map_err(|e| format!("reading the books before the faults: {e}"))?;
        self.inject().await;
        self.rank_root_cause().await;
        self.recover().await;
        Ok(self.money_proof(&before).await)
    }

    /// Asks the platform to rank the root causes of the expected alert as it fired.
    async fn rank_root_cause(&mut self) {
        let (Some(at), false) = (self.timeline.detected_ms, self.spec.expect.alert.is_empty())
        else {
            return;
        };
        match self.platform.root_cause(&self.spec.expect.alert, at).await {
            Ok(ranking) if !ranking.is_empty() => {
                self.say(&format!(
                    "root cause ranking: {}",
                    ranking
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                self.ranking = Some(ranking);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the root-cause ranking could not be had"),
        }
    }

    /// The steady state holds (and the expected alert is quiet); the loss's noise.
    async fn steady_before(&mut self) -> Result<(), String> {
        self.say("checking the steady state");
        let deadline = self.clock.now_ms() + self.opts.steady_wait.as_millis() as i64;
        loop {
            let failing = self.steady_failing().await;
            let firing = self.expected_alert_firing().await;
            if failing.is_empty() && !firing {
                break;
            }
            if self.opts.stop.load(Ordering::Relaxed) {
                return Err("stopped by the operator before the faults".into());
            }
            if self.clock.now_ms() >= deadline {
                let mut why = Vec::new();
                if !failing.is_empty() {
                    why.push(format!("it does not hold: {}", failing.join(", ")));
                }
                if firing {
                    why.push(format!("{} already fires", self.spec.expect.alert));
                }
                return Err(format!(
                    "the steady state did not hold before the faults ({})",
                    why.join("; ")
                ));
            }
            self.clock.sleep(self.opts.poll).await;
        }
        let from = self.clock.now_ms();
        self.sample_loss().await;
        let until = from + self.opts.baseline.as_millis() as i64;
        while self.clock.now_ms() < until {
            self.clock.sleep(self.opts.poll).await;
            self.sample_loss().await;
        }
        self.noise_per_s = self.loss.rate(from, self.clock.now_ms());
        self.say(&format!(
            "steady state holds; the loss grows {:.3}/s before the faults",
            self.noise_per_s
        ));
        Ok(())
    }

    /// The names of the steady-state conditions that do not hold now.
    async fn steady_failing(&self) -> Vec<String> {
        let mut failing = Vec::new();
        for c in &self.spec.steady_state {
            match self.platform.holds(&c.expr).await {
                Ok(true) => {}
                Ok(false) => failing.push(c.name.clone()),
                Err(e) => failing.push(format!("{} ({e})", c.name)),
            }
        }
        failing
    }

    async fn expected_alert_firing(&self) -> bool {
        !self.spec.expect.alert.is_empty()
            && self
                .platform
                .firing(&self.spec.expect.alert)
                .await
                .unwrap_or(false)
    }

    async fn sample_loss(&mut self) {
        if self.spec.loss.is_empty() {
            return;
        }
        match self.platform.value(&self.spec.loss).await {
            Ok(Some(v)) => self.loss.push(self.clock.now_ms(), v),
            Ok(None) => self.loss.push(self.clock.now_ms(), 0.0),
            Err(e) => tracing::warn!(error = %e, "reading the loss"),
        }
    }

    /// The faults on their schedule, watched, until they are over or the drill aborts.
    async fn inject(&mut self) {
        let start = self.clock.now_ms();
        self.timeline.fault_start_ms = start;
        let mut renewed = start;
        let mut books_read = start;
        loop {
            let now = self.clock.now_ms();
            if let Some(why) = self.abort_reason(now, &mut books_read).await {
                self.say(&format!("aborting: {why}"));
                self.timeline.aborted = Some(why);
                self.disarm_all().await;
                break;
            }
            if let Err(e) = self.schedule(now - start).await {
                self.say(&format!("aborting: {e}"));
                self.timeline.aborted = Some(e);
                self.disarm_all().await;
                break;
            }
            if self.done.iter().all(|d| *d) {
                break;
            }
            if now - renewed >= self.opts.lease.as_millis() as i64 / 3 {
                self.renew_all().await;
                renewed = now;
            }
            self.observe().await;
            self.clock.sleep(self.opts.poll).await;
        }
        let end = self.clock.now_ms();
        self.timeline.faults_end_ms = Some(end);
        self.timeline.loss_stopped_ms =
            self.loss
                .stopped(start, end, self.noise_per_s, self.opts.quiet);
        match self.timeline.loss_stopped_ms {
            Some(t) => self.say(&format!(
                "the loss stopped {:.1}s after the first fault (it grew {} more after that)",
                (t - start) as f64 / 1000.0,
                self.loss.growth_after(t)
            )),
            None => self.say("the loss was still growing when the faults ended"),
        }
    }

    /// Arms the faults whose time has come and disarms those whose time is over.
    async fn schedule(&mut self, elapsed_ms: i64) -> Result<(), String> {
        let spec = self.spec;
        for (i, f) in spec.faults.iter().enumerate() {
            let at = f.at.as_millis() as i64;
            let until = at + f.duration.as_millis() as i64;
            if self.done[i] {
                continue;
            }
            if elapsed_ms >= until {
                if let Some(id) = self.armed[i].take() {
                    self.disarm(&id).await;
                    self.say(&format!("fault {} ({}) reverted", i + 1, f.fault.kind));
                }
                self.done[i] = true;
            } else if elapsed_ms >= at && self.armed[i].is_none() {
                let by = format!("drill {}", spec.name);
                let id = self
                    .platform
                    .arm(f, self.opts.lease, &by)
                    .await
                    .map_err(|e| {
                        format!("fault {} ({}) could not be armed: {e}", i + 1, f.fault.kind)
                    })?;
                self.say(&format!(
                    "fault {} ({}) armed as {id} for {}",
                    i + 1,
                    f.fault.kind,
                    humantime::format_duration(f.duration)
                ));
                self.armed[i] = Some(id);
            }
        }
        Ok(())
    }

    /// Why the drill must stop now, if it must.
    async fn abort_reason(&self, now: i64, books_read: &mut i64) -> Option<String> {
        if self.opts.stop.load(Ordering::Relaxed) {
            return Some("stopped by the operator".into());
        }
        if now - self.started_ms > self.spec.max_duration.as_millis() as i64 {
            return Some(format!(
                "the drill ran past its max_duration of {}",
                humantime::format_duration(self.spec.max_duration)
            ));
        }
        for expr in &self.spec.abort.when {
            if self.platform.holds(expr).await.unwrap_or(false) {
                return Some(format!("the abort condition `{expr}` held"));
            }
        }
        let cap = self.spec.abort.max_failed_amount?;
        if now - *books_read < BOOKS_EVERY_MS {
            return None;
        }
        *books_read = now;
        let books = self
            .platform
            .books(self.started_ms, now, false)
            .await
            .ok()?;
        (books.failed_amount > cap).then(|| {
            format!(
                "the payments failed in the drill add up to {:.2}, past the cap of {cap:.2}",
                books.failed_amount
            )
        })
    }

    /// The alert, the notification, the action and the loss, as they are now.
    async fn observe(&mut self) {
        let start = self.timeline.fault_start_ms;
        let now = self.clock.now_ms();
        if self.timeline.detected_ms.is_none() && self.firing_now().await {
            self.timeline.detected_ms = Some(now);
            self.say(&format!(
                "detected: {} fires after {}",
                self.alert_name(),
                self.since(start)
            ));
        }
        if self.timeline.notified_ms.is_none() {
            if let Ok(Some(at)) = self.platform.notified(&self.spec.expect.alert, start).await {
                self.timeline.notified_ms = Some(at);
                self.say(&format!(
                    "the on-call was notified {:.1}s after the first fault",
                    (at - start) as f64 / 1000.0
                ));
            }
        }
        if let (None, Some(a)) = (self.timeline.action_ms, &self.spec.expect.action) {
            let state = self.platform.guard_state(&a.service, &a.guard).await;
            if state.ok().flatten().as_deref() == Some(a.state.as_str()) {
                self.timeline.action_ms = Some(now);
                self.say(&format!(
                    "action: {}/{} is {} after {}",
                    a.service,
                    a.guard,
                    a.state,
                    self.since(start)
                ));
            }
        }
        self.sample_loss().await;
    }

    async fn firing_now(&self) -> bool {
        self.platform
            .firing(&self.spec.expect.alert)
            .await
            .unwrap_or(false)
    }

    fn alert_name(&self) -> &str {
        match self.spec.expect.alert.as_str() {
            "" => "an alert",
            name => name,
        }
    }

    /// Waits for the steady state to hold again, still watching for a late detection.
    async fn recover(&mut self) {
        let Some(end) = self.timeline.faults_end_ms else {
            return;
        };
        self.say("faults reverted; waiting for the steady state");
        let patience = (self.spec.targets.recover * 3).max(Duration::from_secs(60));
        let deadline = end + patience.as_millis() as i64;
        loop {
            if self.timeline.detected_ms.is_none() || self.timeline.action_ms.is_none() {
                self.observe().await;
            }
            if self.steady_failing().await.is_empty() {
                self.timeline.recovered_ms = Some(self.clock.now_ms());
                self.say(&format!(
                    "recovered: the steady state holds {} after the faults",
                    self.since(end)
                ));
                return;
            }
            if self.clock.now_ms() >= deadline || self.opts.stop.load(Ordering::Relaxed) {
                let failing = self.steady_failing().await;
                self.say(&format!("not recovered: {}", failing.join(", ")));
                return;
            }
            self.clock.sleep(self.opts.poll).await;
        }
    }

    /// The books once every payment of the drill is final and compensation is drained.
    async fn money_proof(&mut self, before: &Books) -> MoneyProof {
        let from = self.started_ms;
        let to = self
            .timeline
            .recovered_ms
            .unwrap_or_else(|| self.clock.now_ms());
        self.say("waiting for the drill's payments to be final and compensation drained");
        let deadline = self.clock.now_ms() + self.opts.settle.as_millis() as i64;
        loop {
            match self.platform.books(from, to, false).await {
                Ok(b) if b.open_payments == 0 && b.compensation_backlog == 0 => break,
                _ if self.clock.now_ms() >= deadline || self.opts.stop.load(Ordering::Relaxed) => {
                    break
                }
                _ => self.clock.sleep(self.opts.poll * 5).await,
            }
        }
        let after = match self.platform.books(from, to, true).await {
            Ok(b) => b,
            Err(e) => {
                self.say(&format!("could not read the books: {e}"));
                Books {
                    reconciliation: None,
                    ..before.clone()
                }
            }
        };
        let rec = after.reconciliation.clone().unwrap_or_default();
        self.say(&format!(
            "books: ledger imbalance {:.2}, {} payment(s) still open, compensation backlog {}, reconciliation {} difference(s) worth {:.2} over {} payment(s)",
            after.ledger_imbalance, after.open_payments, after.compensation_backlog, rec.differences, rec.amount, rec.payments
        ));
        MoneyProof {
            ledger_imbalance: after.ledger_imbalance,
            paid_twice: rec.duplicated,
            in_flight_baseline: before.in_flight_amount,
            in_flight_after: after.in_flight_amount,
            open_payments: after.open_payments,
            open_amount: after.open_amount,
            compensation_backlog: after.compensation_backlog,
            reconciliation_differences: rec.differences,
            reconciliation_difference_amount: rec.amount,
            reconciled: after.reconciliation.is_some(),
            failed_amount: after.failed_amount,
        }
    }

    async fn renew_all(&self) {
        for id in self.armed.iter().flatten() {
            if let Err(e) = self.platform.renew(id, self.opts.lease).await {
                tracing::warn!(id, error = %e, "renewing a fault's lease");
            }
        }
    }

    async fn disarm(&self, id: &str) {
        // Retried: a fault left armed reverts when its lease runs out, but sooner is better.
        for _ in 0..3 {
            match self.platform.disarm(id).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(id, error = %e, "disarming a fault"),
            }
        }
    }

    async fn disarm_all(&mut self) {
        let ids: Vec<String> = self.armed.iter_mut().filter_map(Option::take).collect();
        for id in ids {
            self.disarm(&id).await;
        }
        self.done.iter_mut().for_each(|d| *d = true);
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
