//! The running alerter: the config in force, the alerts, the aggregation groups and the
//! notification log, driven by the injected clock. [`Alerter::run`] flushes groups as they
//! fall due; tests call [`Alerter::flush_due`] after moving a manual clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use taishan_core::Clock;
use taishan_guard::{LogObserver, RateLimitConfig, RateLimiter};
use tokio::sync::Notify;

use crate::alerts::{AlertStore, StoreError};
use crate::cluster::{Cluster, ClusterConfig};
use crate::compiled::CompiledConfig;
use crate::config::ConfigErrors;
use crate::dispatch::{Dispatcher, FlushBatch};
use crate::history::History;
use crate::inhibit::inhibited_by;
use crate::metrics::AlerterMetrics;
use crate::model::{Alert, Fingerprint};
use crate::notifiers::Notification;
use crate::notify::nflog::NotificationLog;
use crate::notify::{deliver, Backoff, Delivery, DeliveryRecord, FlushJob};
use crate::oncall::links::LinkSigner;
use crate::oncall::pager::Pager;
use crate::silences::{Silence, SilenceError, Silences};
use crate::state::{StateError, StateEvent, StateLog};

mod paging;
mod persistence;
mod recording;
mod replicas;
mod running;
mod slots;

use slots::DeliverySlots;

pub use paging::PagingError;

/// Settings of the alerter that are not in `alertmanager.yml`.
#[derive(Debug, Clone)]
pub struct AlerterOptions {
    /// The URL people reach the alerter at (in notifications' `externalURL`).
    pub external_url: String,
    /// The config file, for reloads; `None` when the config was given as text.
    pub config_file: Option<PathBuf>,
    /// The on-call file read with it at reloads.
    pub oncall_file: Option<PathBuf>,
    /// How long the acknowledge and resolve links in pages work (24 hours by default).
    pub link_ttl: Duration,
    /// How long the alert history keeps its rows (30 days by default).
    pub history_retention: Duration,
    /// The other replicas, when this alerter is one of several.
    pub cluster: Option<ClusterConfig>,
    /// The most alerts held.
    pub max_alerts: usize,
    /// The most aggregation groups.
    pub max_groups: usize,
    /// Retry waits.
    pub backoff: Backoff,
    /// How long resolved alerts are kept (Alertmanager's GC interval).
    pub resolved_retention: Duration,
    /// How long notification log entries are kept (Alertmanager's `--data.retention`).
    pub log_retention: Duration,
    /// Timeout of one notification attempt.
    pub notify_timeout: Duration,
    /// The most silences held.
    pub max_silences: usize,
    /// Where the notification log and silences are kept across restarts; `None`: memory
    /// only.
    pub data_dir: Option<PathBuf>,
    /// Rate limits of receivers, by name.
    pub rate_limits: std::collections::BTreeMap<String, RateLimitConfig>,
    /// Whether receivers hear of the resolution of an alert they were told fires even when
    /// it was silenced or inhibited meanwhile (Alertmanager's issue #226); on by default.
    pub resolve_muted: bool,
    /// Receivers that differ from `resolve_muted`, by name.
    pub resolve_muted_receivers: std::collections::BTreeMap<String, bool>,
}

impl Default for AlerterOptions {
    fn default() -> Self {
        Self {
            external_url: "http://127.0.0.1:9093".into(),
            config_file: None,
            oncall_file: None,
            link_ttl: Duration::from_secs(24 * 3600),
            history_retention: Duration::from_secs(30 * 24 * 3600),
            cluster: None,
            max_alerts: 100_000,
            max_groups: 50_000,
            backoff: Backoff::default(),
            resolved_retention: Duration::from_secs(30 * 60),
            log_retention: Duration::from_secs(120 * 3600),
            notify_timeout: Duration::from_secs(10),
            max_silences: 10_000,
            data_dir: None,
            rate_limits: Default::default(),
            resolve_muted: true,
            resolve_muted_receivers: Default::default(),
        }
    }
}

/// What happened to a post of alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Alerts taken.
    pub taken: usize,
    /// Alerts refused because the alerter is full.
    pub refused: usize,
}

/// What one flush of one group did.
#[derive(Debug, Clone)]
pub struct FlushOutcome {
    /// The group key.
    pub group_key: String,
    /// The receiver.
    pub receiver: String,
    /// Per integration, in order.
    pub deliveries: Vec<Delivery>,
}

/// Why an alert is not notified now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppression {
    /// The active silences that mute it.
    pub silenced_by: Vec<String>,
    /// The firing alerts that inhibit it.
    pub inhibited_by: Vec<Fingerprint>,
}

impl Suppression {
    /// Whether it is muted at all.
    pub fn is_muted(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

/// The alerter.
#[derive(Debug)]
pub struct Alerter {
    config: RwLock<Arc<CompiledConfig>>,
    alerts: AlertStore,
    silences: Silences,
    state: Option<Arc<StateLog>>,
    limiters: std::collections::HashMap<String, Arc<RateLimiter>>,
    dispatcher: Mutex<Dispatcher>,
    log: NotificationLog,
    clock: Arc<dyn Clock>,
    wake: Notify,
    options: AlerterOptions,
    metrics: AlerterMetrics,
    http: reqwest::Client,
    started_ms: i64,
    pager: Pager,
    links: LinkSigner,
    history: History,
    /// Whether each alert was firing when last recorded in the history.
    lifecycle: Mutex<std::collections::HashMap<u64, bool>>,
    history_dropped_reported: std::sync::atomic::AtomicU64,
    cluster: Option<Cluster>,
    cluster_outbox: Mutex<Option<tokio::sync::mpsc::Receiver<StateEvent>>>,
    delivery_slots: DeliverySlots,
}

impl Alerter {
    /// An alerter running `config`; with `options.data_dir`, what it remembers is read
    /// back from there and kept there.
    pub fn new(
        config: CompiledConfig,
        clock: Arc<dyn Clock>,
        options: AlerterOptions,
        metrics: AlerterMetrics,
        http: reqwest::Client,
    ) -> Result<Arc<Self>, StateError> {
        for w in &config.warnings {
            tracing::warn!("{w}");
        }
        let (state, events) = match &options.data_dir {
            Some(dir) => {
                let (state, events) = StateLog::open(dir)?;
                (Some(Arc::new(state)), events)
            }
            None => (None, Vec::new()),
        };
        let log = match &state {
            Some(s) => NotificationLog::persisted(10_000, s.clone()),
            None => NotificationLog::new(10_000),
        };
        // Links must outlive restarts: their key is kept beside the state.
        let links = match &options.data_dir {
            Some(dir) => LinkSigner::load_or_create(&dir.join("link.key"))
                .map_err(|e| StateError::new(dir.join("link.key"), e))?,
            None => LinkSigner::new(rand::random::<[u8; 32]>().to_vec()),
        };
        let (cluster, cluster_outbox) = match &options.cluster {
            Some(c) => {
                let (cluster, rx) = Cluster::new(c.clone());
                log.replicate_to(cluster.outbox());
                tracing::info!(position = c.position(), peers = ?c.peers, wait = ?c.wait(), "alerter replica");
                (Some(cluster), Some(rx))
            }
            None => (None, None),
        };
        let history = match &options.data_dir {
            Some(dir) => History::open(dir),
            None => History::in_memory(),
        }
        .map_err(|e| {
            StateError::new(
                options.data_dir.clone().unwrap_or_default(),
                std::io::Error::other(e.to_string()),
            )
        })?;
        let alerter = Arc::new(Self {
            config: RwLock::new(Arc::new(config)),
            alerts: AlertStore::new(options.max_alerts),
            silences: Silences::new(options.max_silences),
            dispatcher: Mutex::new(Dispatcher::new(options.max_groups)),
            log,
            state,
            limiters: options
                .rate_limits
                .iter()
                .map(|(name, c)| {
                    let limiter = RateLimiter::new(
                        format!("receiver {name}"),
                        c.clone(),
                        Arc::new(LogObserver),
                    );
                    (name.clone(), Arc::new(limiter))
                })
                .collect(),
            started_ms: clock.now_ms(),
            clock,
            wake: Notify::new(),
            options,
            metrics,
            http,
            pager: Pager::new(),
            links,
            history,
            lifecycle: Mutex::default(),
            history_dropped_reported: Default::default(),
            cluster,
            cluster_outbox: Mutex::new(cluster_outbox),
            delivery_slots: DeliverySlots::default(),
        });
        alerter.restore(events);
        Ok(alerter)
    }

    /// The HTTP client integrations share, with the notification timeout.
    pub fn http_client(timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    }

    /// The config in force.
    pub fn config(&self) -> Arc<CompiledConfig> {
        self.config.read().clone()
    }

    /// The options.
    pub fn options(&self) -> &AlerterOptions {
        &self.options
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// When it started (ms).
    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// The alerts.
    pub fn alerts(&self) -> &AlertStore {
        &self.alerts
    }

    /// The silences.
    pub fn silences(&self) -> &Silences {
        &self.silences
    }

    /// Creates or updates a silence; its id.
    pub fn silence(
        &self,
        silence: Silence,
        new_id: impl FnOnce() -> String,
    ) -> Result<String, SilenceError> {
        let replaced = silence.id.clone();
        let id = self.silences.upsert(silence, self.clock.now_ms(), new_id)?;
        self.persist_silences(&[replaced.as_str(), id.as_str()]);
        tracing::info!(silence = %id, "silence set");
        Ok(id)
    }

    /// Ends a silence now.
    pub fn expire_silence(&self, id: &str) -> Result<(), SilenceError> {
        self.silences.expire(id, self.clock.now_ms())?;
        self.persist_silences(&[id]);
        tracing::info!(silence = %id, "silence expired");
        Ok(())
    }

    /// What mutes `alert` now, given the firing alerts (`firing`) that may inhibit it.
    pub fn suppression(&self, alert: &Alert, firing: &[Arc<Alert>], now_ms: i64) -> Suppression {
        let config = self.config();
        Suppression {
            silenced_by: self.silences.muting(&alert.labels, now_ms),
            inhibited_by: inhibited_by(&config.inhibit_rules, &alert.labels, firing),
        }
    }

    /// The pager: open incidents and acknowledgements.
    pub fn pager(&self) -> &Pager {
        &self.pager
    }

    /// The signer of acknowledge and resolve links.
    pub fn links(&self) -> &LinkSigner {
        &self.links
    }

    /// The notification log and attempts.
    pub fn log(&self) -> &NotificationLog {
        &self.log
    }

    /// The metrics.
    pub fn metrics(&self) -> &AlerterMetrics {
        &self.metrics
    }

    /// The aggregation groups now: (route receiver, group labels, alerts).
    pub fn groups(&self) -> Vec<crate::dispatch::AggregationGroup> {
        self.dispatcher.lock().groups().cloned().collect()
    }

    /// Takes checked alerts: stores them, groups them and wakes the flusher.
    pub fn take(&self, alerts: Vec<Alert>) -> Accepted {
        let now = self.clock.now_ms();
        let config = self.config();
        let mut out = Accepted::default();
        let mut resolved = 0;
        let mut dispatcher = self.dispatcher.lock();
        for alert in alerts {
            let is_resolved = alert.resolved_at(now);
            match self.alerts.put(alert) {
                Ok(held) => {
                    dispatcher.insert(&held, &config.routes, now);
                    out.taken += 1;
                    resolved += usize::from(is_resolved);
                }
                Err(StoreError::Full(_)) => out.refused += 1,
            }
        }
        let received = |status: &str, n: usize| {
            let counter = self.metrics.alerts_received.with_label_values(&[status]);
            counter.inc_by(n as u64);
        };
        received("firing", out.taken - resolved);
        received("resolved", resolved);
        self.metrics.alerts_refused.inc_by(out.refused as u64);
        self.metrics.alerts.set(self.alerts.len() as i64);
        self.metrics.groups.set(dispatcher.groups().count() as i64);
        drop(dispatcher);
        self.wake.notify_one();
        out
    }

    /// Replaces the config with the file's current content; on any problem the config in
    /// force stays and every problem is returned.
    pub fn reload(&self) -> Result<(), ConfigErrors> {
        let Some(path) = &self.options.config_file else {
            return Ok(());
        };
        let result =
            CompiledConfig::load_files(path, self.options.oncall_file.as_deref(), &self.http);
        let label = if result.is_ok() { "success" } else { "failure" };
        self.metrics.reloads.with_label_values(&[label]).inc();
        let compiled = result?;
        for w in &compiled.warnings {
            tracing::warn!("{w}");
        }
        self.install(compiled);
        tracing::info!(file = %path.display(), "alerter configuration reloaded");
        Ok(())
    }

    /// Puts `compiled` in force: groups are rebuilt from the alerts held, the notification
    /// log is kept, so what was sent is not sent again.
    pub fn install(&self, compiled: CompiledConfig) {
        let now = self.clock.now_ms();
        let mut dispatcher = Dispatcher::new(self.options.max_groups);
        for a in self.alerts.list() {
            dispatcher.insert(&a, &compiled.routes, now);
        }
        *self.config.write() = Arc::new(compiled);
        *self.dispatcher.lock() = dispatcher;
        self.wake.notify_one();
    }

    /// Flushes every group due now and waits for their notifications.
    pub async fn flush_due(self: &Arc<Self>) -> Vec<FlushOutcome> {
        let batches = self.due_batches();
        let mut out = Vec::with_capacity(batches.len());
        for b in batches {
            out.push(self.flush(b).await);
        }
        out
    }

    fn due_batches(&self) -> Vec<FlushBatch> {
        let config = self.config();
        self.dispatcher
            .lock()
            .due(&config.routes, self.clock.now_ms())
    }

    /// Flushes `batch` once its receiver has a delivery slot. A burst of new groups waits
    /// here as small tasks; the delivery's own state is allocated when it starts.
    async fn flush(self: &Arc<Self>, batch: FlushBatch) -> FlushOutcome {
        let slots = {
            let config = self.config();
            self.delivery_slots
                .of(&config.routes.node(batch.route).options.receiver)
        };
        let _slot = slots.acquire().await;
        Box::pin(self.flush_now(batch)).await
    }

    async fn flush_now(self: &Arc<Self>, batch: FlushBatch) -> FlushOutcome {
        let config = self.config();
        let route = config.routes.node(batch.route).options.clone();
        let integrations = config
            .receivers
            .get(&route.receiver)
            .cloned()
            .unwrap_or_default();
        // Inhibition looks at every firing alert: only gather them when a rule may need them.
        let firing = if config.inhibit_rules.is_empty() {
            Vec::new()
        } else {
            self.alerts.firing(batch.at_ms)
        };
        let muted = batch
            .alerts
            .iter()
            .filter(|a| self.suppression(a, &firing, batch.at_ms).is_muted())
            .map(|a| a.fingerprint().0)
            .collect();
        let job = FlushJob {
            notification: Notification {
                receiver: route.receiver.clone(),
                group_key: batch.group_key.clone(),
                group_labels: batch.group_labels.clone(),
                alerts: batch.alerts.clone(),
                at_ms: batch.at_ms,
                external_url: self.options.external_url.clone(),
                page: None,
            },
            repeat: route.repeat_interval,
            deadline: route.group_interval,
            muted,
            resolve_muted: self
                .options
                .resolve_muted_receivers
                .get(&route.receiver)
                .copied()
                .unwrap_or(self.options.resolve_muted),
            limiter: self.limiters.get(&route.receiver).cloned(),
        };
        let record = DeliveryRecord {
            log: &self.log,
            metrics: &self.metrics,
            clock: &self.clock,
        };
        let time_muted = config.time_intervals.mutes(
            &route.mute_time_intervals,
            &route.active_time_intervals,
            batch.at_ms,
        );
        self.record_alert_states(&batch.alerts, batch.at_ms);
        let deliveries = if time_muted {
            vec![Delivery::TimeMuted; integrations.len()]
        } else if let Some(team) = config.oncall.team(&route.receiver) {
            self.page_team(team, job).await
        } else if route.receiver == crate::OWNER_RECEIVER && !config.oncall.ownership.is_empty() {
            self.page_owners(&config.oncall, job).await
        } else {
            let wait = self.replica_wait();
            if !wait.is_zero() {
                // Replicas before this one deliver first; their log entries arrive meanwhile.
                tokio::time::sleep(wait).await;
            }
            let out = deliver(&job, &integrations, record, self.options.backoff).await;
            self.record_deliveries(&job, &integrations, &out);
            out
        };
        let delivered = deliveries.iter().all(|d| !matches!(d, Delivery::Failed(_)));
        self.dispatcher.lock().finished(&batch, delivered);
        self.wake.notify_one();
        FlushOutcome {
            group_key: batch.group_key,
            receiver: route.receiver,
            deliveries,
        }
    }

    /// The state file, when the alerter keeps one.
    pub fn state(&self) -> Option<&Arc<StateLog>> {
        self.state.as_ref()
    }
}
