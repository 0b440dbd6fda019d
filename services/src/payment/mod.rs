//! `payment`: pay-outs and collections through the bank channels. Idempotent per key,
//! routed across channels behind a breaker each, finished by the banks' callbacks (or by
//! compensation when they do not come), with the follow-up work in an outbox committed
//! with each result.

mod api;
mod metrics;
pub mod model;
mod routing;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::Severity;
use opentelemetry::{Context, KeyValue};
use taishan_core::Clock;
use taishan_guard::{BreakerConfig, Guards};

pub use api::router;
pub use model::{Payment, PaymentNotice, PaymentRequest, PaymentStatus, Purpose};
pub use store::{OutboxAction, OutboxItem, PaymentFilter, ResultOutcome};

use crate::bank::{BankCallback, Transfer};
use crate::db::Database;
use crate::error::ServiceError;
use crate::telemetry::{CallError, GuardTelemetry, ServiceTelemetry, TracedClient};
use metrics::PaymentMetrics;
use routing::{ChannelRouter, Submission};

/// Where the payment service finds the banks and how it treats them.
#[derive(Debug, Clone)]
pub struct PaymentSettings {
    /// The payment service's own base URL (for the banks' callbacks).
    pub self_url: String,
    /// The banks' base URL.
    pub banks_url: String,
    /// Channel names with their routing weights.
    pub channels: Vec<(String, u32)>,
    /// How long to wait for a bank to accept a transfer.
    pub bank_timeout: Duration,
    /// The breaker in front of each channel.
    pub breaker: BreakerConfig,
}

impl PaymentSettings {
    /// Settings with the demo's breaker: opens at 50% errors over 10s (20 calls at least) or
    /// 5 failures in a row, probes after 10s.
    pub fn new(self_url: String, banks_url: String, channels: Vec<(String, u32)>) -> Self {
        Self {
            self_url,
            banks_url,
            channels,
            bank_timeout: Duration::from_secs(2),
            breaker: BreakerConfig {
                consecutive_failures: Some(5),
                open_for: Duration::from_secs(10),
                ..BreakerConfig::default()
            },
        }
    }
}

/// The payment service's state.
#[derive(Debug)]
pub struct Payments {
    db: Database,
    telemetry: Arc<ServiceTelemetry>,
    clock: Arc<dyn Clock>,
    client: TracedClient,
    router: ChannelRouter,
    guards: Arc<Guards>,
    metrics: PaymentMetrics,
    outbox_ready: tokio::sync::Notify,
}

impl Payments {
    /// Opens the payment records in `dir/payments.db`.
    pub fn open(
        dir: &std::path::Path,
        settings: PaymentSettings,
        telemetry: Arc<ServiceTelemetry>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ServiceError> {
        let db = Database::open(&dir.join("payments.db"), "payment-db", store::SCHEMA)?;
        let observer = GuardTelemetry::new(telemetry.clone());
        let guards = Arc::new(Guards::new(observer.clone(), clock.clone()));
        let router = ChannelRouter::new(
            &settings.channels,
            &guards,
            &settings.breaker,
            settings.banks_url.trim_end_matches('/').to_string(),
            settings.self_url.trim_end_matches('/').to_string(),
        );
        observer.observe(guards.clone());
        let metrics =
            PaymentMetrics::new(telemetry.meter(), &db, &settings.channels, clock.clone());
        let client = TracedClient::new(telemetry.clone(), settings.bank_timeout);
        Ok(Arc::new(Self {
            db,
            telemetry,
            clock,
            client,
            router,
            guards,
            metrics,
            outbox_ready: tokio::sync::Notify::new(),
        }))
    }

    /// The service's guards (a breaker per channel).
    pub fn guards(&self) -> &Arc<Guards> {
        &self.guards
    }

    /// The service's database (compensation shares it: the outbox lives beside the payments).
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Resolves when a payment became final and owes work (compensation waits on it, so
    /// follow-up work starts at once rather than at the next sweep).
    pub async fn outbox_ready(&self) {
        self.outbox_ready.notified().await
    }

    /// The service's telemetry.
    pub fn telemetry(&self) -> &Arc<ServiceTelemetry> {
        &self.telemetry
    }

    /// Money of every payment not final yet, in major units.
    pub fn in_flight_amount(&self) -> Result<f64, ServiceError> {
        let rows = self.db.read(store::in_flight)?;
        Ok(rows.iter().map(|r| r.2.major()).sum())
    }

    /// Records a payment and submits it, or returns the payment its key already made.
    pub async fn create(&self, cx: &Context, req: PaymentRequest) -> Result<Payment, ServiceError> {
        req.check()?;
        let now = self.clock.now_ms();
        let id = format!("pay-{:016x}", rand::random::<u64>());
        let (payment, created) = self
            .db
            .run(&self.telemetry, cx, "insert payment", move |c| {
                store::insert_or_get(c, &id, &req, now)
            })
            .await?;
        if !created {
            // A retry of a known key: the first request (or compensation) owns the payment,
            // so it is never submitted twice from here.
            return Ok(payment);
        }
        self.submit(cx, payment, None).await
    }

    /// Submits an open payment (to `only` when it must stay on its channel) and records the
    /// outcome.
    pub(crate) async fn submit(
        &self,
        cx: &Context,
        payment: Payment,
        only: Option<&str>,
    ) -> Result<Payment, ServiceError> {
        let kind = payment.request.purpose.as_str();
        let outcome = self
            .router
            .submit(&self.client, &self.clock, cx, &payment, only, |channel| {
                self.metrics.attempts.add(
                    1,
                    &[
                        KeyValue::new("channel", channel.to_string()),
                        KeyValue::new("type", kind),
                    ],
                )
            })
            .await;
        let now = self.clock.now_ms();
        let id = payment.id.clone();
        let updated = match &outcome {
            Submission::Accepted(channel) => {
                let channel = channel.clone();
                self.db
                    .run(&self.telemetry, cx, "record submission", move |c| {
                        store::record_submission(
                            c,
                            &id,
                            &channel,
                            PaymentStatus::Submitted,
                            None,
                            now,
                        )
                    })
                    .await?
            }
            Submission::Unknown { channel, reason } => {
                let at = [KeyValue::new("channel", channel.clone())];
                self.metrics.unanswered.add(1, &at);
                self.telemetry.log(
                    cx,
                    Severity::Warn,
                    format!(
                        "payment {} sent to {channel} without an answer: {reason}",
                        payment.id
                    ),
                    [
                        KeyValue::new("payment.id", payment.id.clone()),
                        KeyValue::new("channel", channel.clone()),
                    ],
                );
                let (channel, reason) = (channel.clone(), reason.clone());
                self.db
                    .run(&self.telemetry, cx, "record submission", move |c| {
                        store::record_submission(
                            c,
                            &id,
                            &channel,
                            PaymentStatus::Unknown,
                            Some(&reason),
                            now,
                        )
                    })
                    .await?
            }
            Submission::Rejected { channel, reason } => {
                let reason = format!("{channel} rejected the transfer: {reason}");
                self.fail(cx, &payment, channel, reason).await?
            }
            Submission::NoChannel(reason) => {
                let reason = format!("no bank channel took the transfer ({reason})");
                self.fail(cx, &payment, "none", reason).await?
            }
        };
        updated.ok_or_else(|| ServiceError::Internal(format!("payment {} vanished", payment.id)))
    }

    async fn fail(
        &self,
        cx: &Context,
        payment: &Payment,
        channel: &str,
        reason: String,
    ) -> Result<Option<Payment>, ServiceError> {
        self.telemetry.log(
            cx,
            Severity::Error,
            format!("payment {} failed: {reason}", payment.id),
            [KeyValue::new("payment.id", payment.id.clone())],
        );
        let now = self.clock.now_ms();
        let id = payment.id.clone();
        let failed = self
            .db
            .run(&self.telemetry, cx, "fail payment", move |c| {
                store::fail_unsent(c, &id, &reason, now)
            })
            .await?;
        if let Some(p) = &failed {
            self.outbox_ready.notify_one();
            self.count_final(p, channel);
        }
        Ok(failed)
    }

    fn count_final(&self, p: &Payment, channel: &str) {
        let labels = [
            KeyValue::new("channel", channel.to_string()),
            KeyValue::new("type", p.request.purpose.as_str()),
            KeyValue::new("status", p.status.as_str()),
        ];
        self.metrics.results.add(1, &labels);
        self.metrics.amount.add(p.request.amount.major(), &labels);
        if let Some(done) = p.final_ms {
            self.metrics
                .time_to_final
                .record((done - p.created_ms).max(0) as f64 / 1000.0, &labels[..2]);
        }
    }

    /// Applies a bank's result (a callback, or an answer to a status query).
    pub async fn apply_result(
        &self,
        cx: &Context,
        result: BankCallback,
        source: &'static str,
    ) -> Result<(Payment, ResultOutcome), ServiceError> {
        if !self.router.knows(&result.channel) {
            return Err(ServiceError::BadRequest(format!(
                "channel: {:?} is not a configured bank channel",
                result.channel
            )));
        }
        let now = self.clock.now_ms();
        let r = result.clone();
        let applied = self
            .db
            .run(&self.telemetry, cx, "apply bank result", move |c| {
                store::apply_result(c, &r.reference, &r.channel, r.status, r.amount, now)
            })
            .await;
        let outcome = match &applied {
            Ok((p, ResultOutcome::Applied)) => {
                self.outbox_ready.notify_one();
                self.count_final(p, &result.channel);
                self.telemetry.log(
                    cx,
                    Severity::Info,
                    format!(
                        "payment {} {} via {} ({source})",
                        p.id,
                        p.status.as_str(),
                        result.channel
                    ),
                    [
                        KeyValue::new("payment.id", p.id.clone()),
                        KeyValue::new("channel", result.channel.clone()),
                        KeyValue::new("status", p.status.as_str()),
                    ],
                );
                "applied"
            }
            Ok((_, ResultOutcome::Duplicate)) => "duplicate",
            Ok((_, ResultOutcome::StillPending)) => "pending",
            Err(ServiceError::Conflict(reason)) => {
                self.telemetry.log(
                    cx,
                    Severity::Error,
                    format!("bank result contradicts the payment record: {reason}"),
                    [
                        KeyValue::new("payment.id", result.reference.clone()),
                        KeyValue::new("channel", result.channel.clone()),
                    ],
                );
                "conflict"
            }
            Err(_) => "error",
        };
        let labels = [
            KeyValue::new("channel", result.channel.clone()),
            KeyValue::new("outcome", outcome),
        ];
        match source {
            "callback" => self.metrics.callbacks.add(1, &labels),
            _ => self.metrics.queried.add(1, &labels),
        }
        applied
    }

    /// Asks the channel a payment went to what it knows of it.
    pub(crate) async fn query_bank(
        &self,
        cx: &Context,
        channel: &str,
        payment_id: &str,
    ) -> Result<Option<Transfer>, CallError> {
        let url = format!(
            "{}/channels/{channel}/transfers/{payment_id}",
            self.router.banks_url()
        );
        match self
            .client
            .get::<Transfer>(cx, channel, "GET /transfers/{reference}", &url)
            .await
        {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Marks a payment failed that no channel has (compensation gave up resubmitting).
    pub(crate) async fn give_up(
        &self,
        cx: &Context,
        payment: &Payment,
        reason: String,
    ) -> Result<Option<Payment>, ServiceError> {
        let channel = payment.channel.clone().unwrap_or_else(|| "none".into());
        self.fail(cx, payment, &channel, reason).await
    }

    /// The configured channel names.
    pub(crate) fn channel_names(&self) -> Vec<String> {
        self.router.names()
    }

    /// Records that an unsent-looking payment is in fact at `channel` (found there after a
    /// crash between sending and recording).
    pub(crate) async fn adopt(
        &self,
        cx: &Context,
        payment: &Payment,
        channel: &str,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now_ms();
        let (id, channel) = (payment.id.clone(), channel.to_string());
        self.db
            .run(&self.telemetry, cx, "record submission", move |c| {
                store::record_submission(c, &id, &channel, PaymentStatus::Submitted, None, now)
            })
            .await?;
        Ok(())
    }

    /// The payment `id`.
    pub fn get(&self, id: &str) -> Result<Payment, ServiceError> {
        self.db
            .read(|c| store::get(c, id))?
            .ok_or_else(|| ServiceError::NotFound(format!("no payment {id:?}")))
    }

    /// Payments matching `filter`.
    pub fn list(&self, filter: &PaymentFilter) -> Result<Vec<Payment>, ServiceError> {
        self.db.read(|c| store::list(c, filter))
    }

    /// The clock the service runs on.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Lists payments from the payment service over HTTP (`query` is the URL's query string).
pub async fn fetch_payments(
    client: &TracedClient,
    cx: &Context,
    payment_url: &str,
    query: &str,
) -> Result<Vec<Payment>, CallError> {
    let url = format!("{payment_url}/payments?{query}");
    client.get(cx, "payment", "GET /payments", &url).await
}

/// One payment from the payment service over HTTP; `None` when it does not exist.
pub async fn fetch_payment(
    client: &TracedClient,
    cx: &Context,
    payment_url: &str,
    id: &str,
) -> Result<Option<Payment>, CallError> {
    let url = format!("{payment_url}/payments/{id}");
    match client.get(cx, "payment", "GET /payments/{id}", &url).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Ok(None),
        Err(e) => Err(e),
    }
}
