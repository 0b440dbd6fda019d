//! The outbox worker and the stuck-payment sweeper.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use parking_lot::Mutex;
use rand::Rng;
use serde::Serialize;
use taishan_guard::{BreakerConfig, CallOutcome, CircuitBreaker, Guards};
use tokio_util::sync::CancellationToken;

use crate::bank::{BankCallback, BankStatus};
use crate::error::ServiceError;
use crate::ledger::Posted;
use crate::payment::store::{self, OutboxAction, OutboxItem};
use crate::payment::{Payment, PaymentNotice, PaymentRequest, PaymentStatus, Payments, Purpose};
use crate::telemetry::{CallError, GuardTelemetry, ServiceTelemetry, TracedClient};

/// Outbox items delivered at the same time.
const DELIVERIES_AT_ONCE: usize = 16;

/// How hard the worker tries.
#[derive(Debug, Clone)]
pub struct CompensationSettings {
    /// The ledger's base URL.
    pub ledger_url: String,
    /// Time between sweeps.
    pub interval: Duration,
    /// An open payment untouched this long is looked into.
    pub stuck_after: Duration,
    /// Submissions of one payment to its channel before giving up (when the channel has no
    /// record of it).
    pub max_submissions: i64,
    /// Tries of one piece of outbox work before it becomes a dead letter.
    pub max_attempts: i64,
    /// First retry delay; doubled each try.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Items handled per sweep.
    pub batch: usize,
    /// The breaker in front of the ledger: while it is open, postings wait in the outbox
    /// without spending their tries.
    pub ledger_breaker: BreakerConfig,
}

impl CompensationSettings {
    /// The demo's settings: a sweep a second, stuck after 15 s, 3 submissions, 8 tries with
    /// backoff from 1 s to 5 min, and a ledger breaker that opens after 5 failures in a row
    /// and probes after 10 s.
    pub fn new(ledger_url: String) -> Self {
        Self {
            ledger_url,
            interval: Duration::from_secs(1),
            stuck_after: Duration::from_secs(15),
            max_submissions: 3,
            max_attempts: 8,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            batch: 200,
            ledger_breaker: BreakerConfig {
                consecutive_failures: Some(5),
                open_for: Duration::from_secs(10),
                ..BreakerConfig::default()
            },
        }
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Outbox items delivered.
    pub delivered: u32,
    /// Outbox items to be retried later.
    pub retried: u32,
    /// Outbox items given up on.
    pub dead_lettered: u32,
    /// Stuck payments finished from the bank's answer.
    pub resolved: u32,
    /// Stuck payments submitted again.
    pub resubmitted: u32,
    /// Stuck payments failed because no channel had them.
    pub abandoned: u32,
    /// Refunds started for repayments the loan refused.
    pub refunds: u32,
}

/// Work owed now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// Outbox items waiting.
    pub outbox: i64,
    /// Outbox items given up on.
    pub dead_letters: i64,
    /// Open payments (not final).
    pub open_payments: i64,
}

/// The compensation worker.
#[derive(Debug)]
pub struct Compensation {
    payments: Arc<Payments>,
    settings: CompensationSettings,
    telemetry: Arc<ServiceTelemetry>,
    client: TracedClient,
    actions: Counter<u64>,
    guards: Arc<Guards>,
    ledger: Arc<CircuitBreaker>,
}

impl Compensation {
    /// A worker over `payments`' records.
    pub fn new(
        payments: Arc<Payments>,
        settings: CompensationSettings,
        telemetry: Arc<ServiceTelemetry>,
    ) -> Arc<Self> {
        let meter = telemetry.meter();
        let actions = meter
            .u64_counter("compensation.actions")
            .with_description("Compensation work done, by action and outcome")
            .build();
        // The delivery series exist from the first export, so the first failures are an
        // increase the rules can see, not a series appearing.
        for action in [OutboxAction::PostLedger, OutboxAction::Notify] {
            for outcome in ["delivered", "retried", "held", "dead_lettered"] {
                let labels = [
                    KeyValue::new("action", action.as_str()),
                    KeyValue::new("outcome", outcome),
                ];
                actions.add(0, &labels);
            }
        }
        let db = payments.db().clone();
        meter
            .i64_observable_gauge("compensation.backlog")
            .with_description("Work owed: outbox items waiting, dead letters, open payments")
            .with_callback(move |o| {
                if let Ok(b) = db.read(backlog) {
                    o.observe(b.outbox, &[KeyValue::new("kind", "outbox")]);
                    o.observe(b.dead_letters, &[KeyValue::new("kind", "dead_letter")]);
                    o.observe(b.open_payments, &[KeyValue::new("kind", "open_payment")]);
                }
            })
            .build();
        let client = TracedClient::new(telemetry.clone(), Duration::from_secs(5));
        let observer = GuardTelemetry::new(telemetry.clone());
        let guards = Arc::new(Guards::new(observer.clone(), payments.clock().clone()));
        let ledger = guards.breaker("ledger", settings.ledger_breaker.clone());
        observer.observe(guards.clone());
        Arc::new(Self {
            payments,
            settings,
            telemetry,
            client,
            actions,
            guards,
            ledger,
        })
    }

    /// Its guards (the ledger breaker), for the control plane.
    pub fn guards(&self) -> &Arc<Guards> {
        &self.guards
    }

    /// The worker's telemetry.
    pub fn telemetry(&self) -> &Arc<ServiceTelemetry> {
        &self.telemetry
    }

    /// Work owed now.
    pub fn backlog(&self) -> Result<Backlog, ServiceError> {
        self.payments.db().read(backlog)
    }

    /// Outbox items given up on.
    pub fn dead_letters(&self) -> Result<Vec<OutboxItem>, ServiceError> {
        self.payments.db().read(store::dead_letters)
    }

    /// Puts a dead letter back in the queue.
    pub async fn retry_dead_letter(&self, id: i64) -> Result<(), ServiceError> {
        let now = self.payments.clock().now_ms();
        if self
            .payments
            .db()
            .write(move |c| store::revive(c, id, now))
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no dead letter {id}")))
        }
    }

    /// Delivers outbox work as soon as payments owe it, and sweeps for stuck payments every
    /// `interval`, until cancelled.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut ticker = taishan_core::Ticker::new(self.settings.interval, cancel);
        loop {
            let done = tokio::select! {
                alive = ticker.tick() => match alive {
                    true => self.sweep().await,
                    false => return,
                },
                _ = self.payments.outbox_ready() => self.drain_outbox().await,
            };
            match done {
                Ok(s) if s != Sweep::default() => tracing::debug!(?s, "compensation sweep"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "compensation sweep failed; next one retries"),
            }
        }
    }

    /// Delivers the outbox work due now, batch after batch until none is left.
    pub async fn drain_outbox(&self) -> Result<Sweep, ServiceError> {
        let sweep = Mutex::new(Sweep::default());
        loop {
            let now = self.payments.clock().now_ms();
            let due = self
                .payments
                .db()
                .read(|c| store::outbox_due(c, now, self.settings.batch))?;
            let full = due.len() == self.settings.batch;
            // Each item is a call to another service: several at once, not one by one.
            let results: Vec<Result<(), ServiceError>> = futures_util::stream::iter(due)
                .map(|item| self.deliver(item, &sweep))
                .buffer_unordered(DELIVERIES_AT_ONCE)
                .collect()
                .await;
            results.into_iter().collect::<Result<(), _>>()?;
            if !full {
                return Ok(sweep.into_inner());
            }
        }
    }

    /// One pass: the due outbox work, then the stuck payments.
    pub async fn sweep(&self) -> Result<Sweep, ServiceError> {
        let mut sweep = self.drain_outbox().await?;
        let now = self.payments.clock().now_ms();
        let before = now - self.settings.stuck_after.as_millis() as i64;
        let stuck = self
            .payments
            .db()
            .read(|c| store::stuck(c, before, self.settings.batch))?;
        for payment in stuck {
            self.unstick(payment, &mut sweep).await?;
        }
        Ok(sweep)
    }

    fn count(&self, action: &'static str, outcome: &'static str) {
        self.actions.add(
            1,
            &[
                KeyValue::new("action", action),
                KeyValue::new("outcome", outcome),
            ],
        );
    }

    fn span(&self, name: &'static str, payment_id: &str) -> Context {
        let tracer = self.telemetry.tracer();
        let span = tracer
            .span_builder(name)
            .with_attributes([KeyValue::new("payment.id", payment_id.to_string())])
            .start(tracer);
        Context::new().with_span(span)
    }

    async fn deliver(&self, item: OutboxItem, sweep: &Mutex<Sweep>) -> Result<(), ServiceError> {
        let cx = self.span(
            match item.action {
                OutboxAction::PostLedger => "deliver ledger posting",
                OutboxAction::Notify => "deliver payment notice",
            },
            &item.payment_id,
        );
        let payment = self.payments.get(&item.payment_id)?;
        let result = match item.action {
            OutboxAction::PostLedger => self.post_to_ledger(&cx, &payment).await,
            OutboxAction::Notify => self.notify(&cx, &payment, sweep).await,
        };
        let action = item.action.as_str();
        let now = self.payments.clock().now_ms();
        match result {
            Ok(()) => {
                let id = item.id;
                self.payments
                    .db()
                    .write(move |c| store::outbox_done(c, id))
                    .await?;
                sweep.lock().delivered += 1;
                self.count(action, "delivered");
            }
            Err(Delivery::Held(retry_after)) => {
                let id = item.id;
                let next = now + retry_after.as_millis() as i64;
                self.payments
                    .db()
                    .write(move |c| store::outbox_later(c, id, next))
                    .await?;
                sweep.lock().retried += 1;
                self.count(action, "held");
            }
            Err(Delivery::Retry(error)) if item.attempts + 1 < self.settings.max_attempts => {
                let next = now + self.backoff(item.attempts).as_millis() as i64;
                self.outbox_failed(item.id, error, next, false).await?;
                sweep.lock().retried += 1;
                self.count(action, "retried");
            }
            Err(Delivery::Retry(error)) | Err(Delivery::GiveUp(error)) => {
                self.telemetry.log(
                    &cx,
                    Severity::Error,
                    format!(
                        "{action} for payment {} dead-lettered after {} tries: {error}",
                        payment.id,
                        item.attempts + 1
                    ),
                    [KeyValue::new("payment.id", payment.id.clone())],
                );
                self.outbox_failed(item.id, error, now, true).await?;
                sweep.lock().dead_lettered += 1;
                self.count(action, "dead_lettered");
            }
        }
        cx.span().end();
        Ok(())
    }

    /// `backoff_base × 2^attempts`, at most `backoff_max`, ±20% so retries spread out.
    fn backoff(&self, attempts: i64) -> Duration {
        let exp = self
            .settings
            .backoff_base
            .saturating_mul(1u32 << attempts.clamp(0, 20) as u32)
            .min(self.settings.backoff_max);
        exp.mul_f64(rand::rng().random_range(0.8..1.2))
    }

    async fn post_to_ledger(&self, cx: &Context, payment: &Payment) -> Result<(), Delivery> {
        let entry = payment
            .journal_entry()
            .ok_or_else(|| Delivery::GiveUp("the payment has no channel to post".into()))?;
        let url = format!("{}/entries", self.settings.ledger_url);
        let clock = self.payments.clock();
        // The ledger failing: postings wait their turn instead of spending their tries.
        let admission = self
            .ledger
            .try_acquire(clock.now_ms())
            .map_err(|r| Delivery::Held(r.retry_after()))?;
        let from = std::time::Instant::now();
        let posted = self
            .client
            .post::<_, Posted>(cx, "ledger", "POST /entries", &url, &entry)
            .await;
        // A 4xx is the ledger refusing this entry, not the ledger failing.
        let failed = posted
            .as_ref()
            .is_err_and(|e| !e.status().is_some_and(|s| s.is_client_error()));
        let outcome = match failed {
            true => CallOutcome::failure(from.elapsed()),
            false => CallOutcome::success(from.elapsed()),
        };
        self.ledger.record(admission, outcome, clock.now_ms());
        match posted {
            Ok(_) => Ok(()),
            Err(e) if !failed => Err(Delivery::GiveUp(e.to_string())),
            // A failed probe says the ledger is still down, nothing of this posting: it
            // waits for the next probe without spending a try, so no outage, however long,
            // turns postings into dead letters.
            Err(_) if admission.is_probe() => {
                Err(Delivery::Held(self.settings.ledger_breaker.open_for))
            }
            Err(e) => Err(Delivery::Retry(e.to_string())),
        }
    }

    async fn notify(
        &self,
        cx: &Context,
        payment: &Payment,
        sweep: &Mutex<Sweep>,
    ) -> Result<(), Delivery> {
        let Some(url) = &payment.request.notify_url else {
            return Ok(());
        };
        let notice = PaymentNotice::from(payment);
        match self
            .client
            .post::<_, serde_json::Value>(cx, "loan", "POST /payment-notices", url, &notice)
            .await
        {
            Ok(_) => Ok(()),
            // The loan refuses a repayment it cannot apply (already paid): give the money back.
            Err(CallError::Status { status, .. })
                if status.as_u16() == 409
                    && payment.request.purpose == Purpose::Repayment
                    && payment.status == PaymentStatus::Succeeded =>
            {
                self.refund(cx, payment)
                    .await
                    .map_err(|e| Delivery::Retry(e.to_string()))?;
                sweep.lock().refunds += 1;
                Ok(())
            }
            Err(e) if e.status().is_some_and(|s| s.is_client_error()) => {
                Err(Delivery::GiveUp(e.to_string()))
            }
            Err(e) => Err(Delivery::Retry(e.to_string())),
        }
    }

    async fn refund(&self, cx: &Context, payment: &Payment) -> Result<(), ServiceError> {
        let r = &payment.request;
        let refund = PaymentRequest {
            idempotency_key: format!("refund:{}", payment.id),
            purpose: Purpose::Refund,
            customer: r.customer.clone(),
            account: r.account.clone(),
            partner: r.partner.clone(),
            // The whole amount, split as the repayment was, so the books reverse exactly.
            amount: r.amount,
            interest: r.interest,
            notify_url: None,
        };
        self.telemetry.log(
            cx,
            Severity::Warn,
            format!(
                "refunding repayment {} of {}: the loan refused it",
                payment.id, r.amount
            ),
            [KeyValue::new("payment.id", payment.id.clone())],
        );
        self.count("refund", "started");
        self.payments.create(cx, refund).await.map(|_| ())
    }

    async fn unstick(&self, payment: Payment, sweep: &mut Sweep) -> Result<(), ServiceError> {
        let cx = self.span("resolve stuck payment", &payment.id);
        let result = self.resolve(&cx, &payment, sweep).await;
        cx.span().end();
        result
    }

    async fn resolve(
        &self,
        cx: &Context,
        payment: &Payment,
        sweep: &mut Sweep,
    ) -> Result<(), ServiceError> {
        let now = self.payments.clock().now_ms();
        let candidates: Vec<String> = match &payment.channel {
            Some(c) => vec![c.clone()],
            // Never recorded as sent: it may have reached any channel before a crash.
            None => self.payments.channel_names(),
        };
        for channel in &candidates {
            match self.payments.query_bank(cx, channel, &payment.id).await {
                Ok(Some(t)) => {
                    if payment.channel.is_none() {
                        self.payments.adopt(cx, payment, channel).await?;
                    }
                    if t.status == BankStatus::Pending {
                        self.note(payment, format!("{channel} is still settling it"), now)
                            .await?;
                        return Ok(());
                    }
                    let result = BankCallback {
                        channel: channel.clone(),
                        reference: payment.id.clone(),
                        status: t.status,
                        amount: t.amount,
                    };
                    match self.payments.apply_result(cx, result, "query").await {
                        Ok(_) => {
                            sweep.resolved += 1;
                            self.count("resolve", "from_bank");
                        }
                        Err(e) => {
                            self.count("resolve", "conflict");
                            self.note(payment, e.to_string(), now).await?;
                        }
                    }
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => {
                    // The bank cannot say: the money may be there. Look again next time.
                    self.note(payment, format!("cannot ask {channel}: {e}"), now)
                        .await?;
                    self.count("resolve", "bank_unreachable");
                    return Ok(());
                }
            }
        }
        // No channel has it: it is safe to send it (again) to its channel, or to fail it.
        if payment.attempts < self.settings.max_submissions {
            self.payments
                .submit(cx, payment.clone(), payment.channel.as_deref())
                .await?;
            sweep.resubmitted += 1;
            self.count("resubmit", "sent");
        } else {
            let reason = format!(
                "no bank channel has the transfer after {} submission(s)",
                payment.attempts
            );
            self.payments.give_up(cx, payment, reason).await?;
            sweep.abandoned += 1;
            self.count("resolve", "abandoned");
        }
        Ok(())
    }
}

impl Compensation {
    /// Records a failed try of outbox item `id`: retried at `next_ms`, or a dead letter.
    async fn outbox_failed(
        &self,
        id: i64,
        error: String,
        next_ms: i64,
        dead: bool,
    ) -> Result<(), ServiceError> {
        self.payments
            .db()
            .write(move |c| store::outbox_failed(c, id, &error, next_ms, dead))
            .await
    }

    /// Notes why a stuck payment stays open, so the next sweep waits before looking again.
    async fn note(&self, payment: &Payment, reason: String, now: i64) -> Result<(), ServiceError> {
        let id = payment.id.clone();
        self.payments
            .db()
            .write(move |c| store::touch(c, &id, &reason, now))
            .await
    }
}

enum Delivery {
    Retry(String),
    GiveUp(String),
    /// Not tried: a breaker holds it back for this long; the try is not spent.
    Held(Duration),
}

fn backlog(c: &rusqlite::Connection) -> Result<Backlog, ServiceError> {
    let (outbox, dead_letters) = store::outbox_counts(c)?;
    let open_payments = store::in_flight(c)?.iter().map(|r| r.1).sum();
    Ok(Backlog {
        outbox,
        dead_letters,
        open_payments,
    })
}
