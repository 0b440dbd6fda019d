//! The alerter's loops: the dispatcher flushing groups as they fall due on the injected
//! clock, escalations on the same clock, state syncs and replication, and the garbage
//! collected once a minute.

use std::sync::Arc;
use std::time::Duration;

use taishan_core::{run_every, Interval, Ticker};
use tokio_util::sync::CancellationToken;

use super::persistence::{sync_state, STATE_SYNC_EVERY};
use super::Alerter;
use crate::model::Fingerprint;

/// How often escalations are looked for.
const ESCALATE_EVERY: Duration = Duration::from_secs(1);

impl Alerter {
    /// Flushes groups as they fall due, each in its own task, until `cancel`; also collects
    /// resolved alerts and old log entries once a minute.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let syncer = self.state.clone().map(|state| {
            let every = Ticker::after_first_period(STATE_SYNC_EVERY, cancel.clone());
            tokio::spawn(run_every(every, move || sync_state(state.clone())))
        });
        let escalations = {
            let me = self.clone();
            // On the injected clock: escalation times are the on-call policy's.
            let every = Interval::after_first_period(self.clock.clone(), ESCALATE_EVERY);
            tokio::spawn(run_every(Ticker::on(every, cancel.clone()), move || {
                let me = me.clone();
                async move {
                    me.escalate_due().await;
                }
            }))
        };
        self.catch_up().await;
        let replication = self.spawn_replication(&cancel);
        self.flush_loop(cancel).await;
        let _ = escalations.await;
        for r in replication {
            let _ = r.await;
        }
        if let Some(s) = syncer {
            let _ = s.await;
        }
        if let Some(state) = self.state.clone() {
            sync_state(state).await;
        }
    }

    async fn flush_loop(self: &Arc<Self>, cancel: CancellationToken) {
        let mut last_gc = self.clock.now_ms();
        loop {
            // Until the next group falls due on the injected clock, or a minute at most
            // (for the garbage), or new alerts wake it.
            let now = self.clock.now_ms();
            let next = self.dispatcher.lock().next_due_ms();
            let wake_at = next.unwrap_or(i64::MAX).min(now.saturating_add(60_000));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = self.clock.sleep_until(wake_at) => {}
            }
            for batch in self.due_batches() {
                let me = self.clone();
                tokio::spawn(async move {
                    me.flush(batch).await;
                });
            }
            let now = self.clock.now_ms();
            if now - last_gc >= 60_000 {
                last_gc = now;
                self.collect_garbage(now);
            }
        }
    }

    fn collect_garbage(&self, now: i64) {
        let retention = |d: Duration| now - i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let alerts = self
            .alerts
            .collect_resolved(retention(self.options.resolved_retention));
        let entries = self.log.expire(retention(self.options.log_retention));
        self.silences
            .collect_expired(retention(self.options.log_retention));
        self.metrics.alerts.set(self.alerts.len() as i64);
        self.compact_state();
        self.history
            .expire(retention(self.options.history_retention));
        self.lifecycle
            .lock()
            .retain(|fp, _| self.alerts.get(Fingerprint(*fp)).is_some());
        let dropped = self.history.dropped();
        let reported = self
            .history_dropped_reported
            .swap(dropped, std::sync::atomic::Ordering::Relaxed);
        self.metrics
            .history_dropped
            .inc_by(dropped.saturating_sub(reported));
        if alerts + entries > 0 {
            tracing::debug!(
                alerts,
                entries,
                "collected resolved alerts and old notification log entries"
            );
        }
    }
}
