//! The notification pipeline of one flushed group: for each integration of the group's
//! receiver, ask the notification log whether the flush is news ([`nflog`]), deliver with
//! retries and backoff until the group's next flush, record every attempt, and log what was
//! delivered.

pub mod nflog;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use taishan_core::Clock;
use taishan_guard::RateLimiter;

use nflog::{Attempt, LogEntry, LogKey, NotificationLog};

use crate::metrics::AlerterMetrics;

use crate::notifiers::{Integration, Notification, NotifyError};

/// How retries wait: exponential from `initial`, capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// What happened to one integration's share of a flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing new to say.
    Deduplicated,
    /// The route is muted now (its `mute_time_intervals`, or outside its
    /// `active_time_intervals`): nothing sent, nothing logged.
    TimeMuted,
    /// Delivered.
    Delivered,
    /// Gave up; the reason of the last attempt.
    Failed(String),
}

/// One flush for one receiver: the notification, the repeat interval and how long
/// retries may go on.
#[derive(Debug, Clone)]
pub struct FlushJob {
    /// The notification with every alert of the group.
    pub notification: Notification,
    /// The route's `repeat_interval`.
    pub repeat: Duration,
    /// Retries stop after this long (the group's interval).
    pub deadline: Duration,
    /// Fingerprints of the group's alerts that are silenced or inhibited now.
    pub muted: BTreeSet<u64>,
    /// Whether a muted alert's resolution is still sent to receivers told it fires.
    pub resolve_muted: bool,
    /// The receiver's rate limit, when it has one: each attempt takes a token, waiting for
    /// one until the deadline.
    pub limiter: Option<Arc<RateLimiter>>,
}

/// Where deliveries record what they did.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryRecord<'a> {
    /// The notification log and attempts.
    pub log: &'a NotificationLog,
    /// Attempts, failures and latency per integration kind.
    pub metrics: &'a AlerterMetrics,
    /// The time of attempts.
    pub clock: &'a Arc<dyn Clock>,
}

/// Delivers `job` to each integration; one outcome per integration, in order.
pub async fn deliver(
    job: &FlushJob,
    integrations: &[Integration],
    record: DeliveryRecord<'_>,
    backoff: Backoff,
) -> Vec<Delivery> {
    let mut out = Vec::with_capacity(integrations.len());
    for integration in integrations {
        out.push(deliver_one(job, integration, record, backoff).await);
    }
    out
}

async fn deliver_one(
    job: &FlushJob,
    integration: &Integration,
    record: DeliveryRecord<'_>,
    backoff: Backoff,
) -> Delivery {
    let log = record.log;
    let key = LogKey {
        group_key: job.notification.group_key.clone(),
        receiver: job.notification.receiver.clone(),
        integration: integration.name.clone(),
    };
    let entry = record.log.get(&key);
    let n = &unmuted(job, entry.as_ref());
    if n.alerts.is_empty() {
        return Delivery::Deduplicated;
    }
    let (mut firing, mut resolved) = (BTreeSet::new(), BTreeSet::new());
    for a in &n.alerts {
        let fp = a.fingerprint().0;
        if a.resolved_at(n.at_ms) {
            resolved.insert(fp);
        } else {
            firing.insert(fp);
        }
    }
    let send_resolved = integration.notifier.send_resolved();
    let repeat_ms = i64::try_from(job.repeat.as_millis()).unwrap_or(i64::MAX);
    if !LogEntry::needs_update(
        entry.as_ref(),
        &firing,
        &resolved,
        send_resolved,
        repeat_ms,
        n.at_ms,
    ) {
        return Delivery::Deduplicated;
    }
    let logged = LogEntry {
        firing,
        resolved,
        at_ms: n.at_ms,
    };
    let mut to_send = n.clone();
    if !send_resolved {
        to_send.alerts.retain(|a| !a.resolved_at(n.at_ms));
        if to_send.alerts.is_empty() {
            // Only resolutions, which this integration does not hear of: log them so the
            // next flush is compared with what it was last told.
            log.set(key, logged);
            return Delivery::Deduplicated;
        }
    }
    let started = Instant::now();
    let mut wait = backoff.initial;
    let mut attempt = 0u32;
    loop {
        if let Err(reason) = take_token(job, record.clock, started).await {
            tracing::warn!(receiver = %n.receiver, integration = %integration.name, group = %n.group_key, "{reason}");
            return Delivery::Failed(reason);
        }
        attempt += 1;
        let t0 = Instant::now();
        // No attempt outlives the group's next flush, as in Alertmanager: integrations
        // with their own HTTP client or SMTP have no other overall bound.
        let remaining = job.deadline.saturating_sub(started.elapsed());
        let result = tokio::time::timeout(remaining, integration.notifier.notify(&to_send))
            .await
            .unwrap_or_else(|_| {
                Err(NotifyError::unreachable(&format!(
                    "no answer within the group's interval ({remaining:?})"
                )))
            });
        let kind = [integration.notifier.kind()];
        record.metrics.notifications.with_label_values(&kind).inc();
        record
            .metrics
            .notification_latency
            .with_label_values(&kind)
            .observe(t0.elapsed().as_secs_f64());
        if result.is_err() {
            record
                .metrics
                .notifications_failed
                .with_label_values(&kind)
                .inc();
        }
        log.record(Attempt {
            at_ms: record.clock.now_ms(),
            receiver: n.receiver.clone(),
            integration: integration.name.clone(),
            group_key: n.group_key.clone(),
            alerts: to_send.alerts.len(),
            attempt,
            status: match &result {
                Ok(status) => Some(*status),
                Err(e) => e.status,
            },
            error: result.as_ref().err().map(|e| e.message.clone()),
            duration_ms: u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        match result {
            Ok(_) => {
                log.set(key, logged);
                return Delivery::Delivered;
            }
            Err(e) if !e.retryable || started.elapsed() + wait > job.deadline => {
                tracing::warn!(receiver = %n.receiver, integration = %integration.name, group = %n.group_key, attempts = attempt, error = %e, "notification not delivered");
                return Delivery::Failed(e.message);
            }
            Err(e) => {
                tracing::debug!(receiver = %n.receiver, integration = %integration.name, attempt, error = %e, "notify attempt failed, retrying");
                tokio::time::sleep(wait).await;
                wait = (wait.mul_f64(1.5)).min(backoff.max);
            }
        }
    }
}

/// Waits for a token of the receiver's rate limit, until the job's deadline.
async fn take_token(
    job: &FlushJob,
    clock: &Arc<dyn Clock>,
    started: Instant,
) -> Result<(), String> {
    let Some(limiter) = &job.limiter else {
        return Ok(());
    };
    let rate = limiter.rate_in_force().max(1e-3);
    let pause = Duration::from_secs_f64((1.0 / rate).min(1.0));
    loop {
        if limiter.try_acquire(clock.now_ms()).is_ok() {
            return Ok(());
        }
        if started.elapsed() + pause > job.deadline {
            return Err(format!(
                "receiver {:?} is over its rate limit of {rate}/s until the group's next flush",
                job.notification.receiver
            ));
        }
        tokio::time::sleep(pause).await;
    }
}

/// The notification without its muted alerts, except (with `resolve_muted`) the
/// resolutions of alerts this integration was last told fire.
fn unmuted(job: &FlushJob, entry: Option<&LogEntry>) -> Notification {
    let n = &job.notification;
    let mut out = n.clone();
    out.alerts.retain(|a| {
        let fp = a.fingerprint().0;
        !job.muted.contains(&fp)
            || (job.resolve_muted
                && a.resolved_at(n.at_ms)
                && entry.is_some_and(|e| e.firing.contains(&fp)))
    });
    out
}

#[cfg(test)]
pub(crate) mod tests;
