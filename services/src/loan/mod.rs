//! `loan`: apply → decision (by `risk`) → credit line → drawdown (paid out through
//! `payment`) → repayment schedule → repayments (collected through `payment`) → overdue.

mod api;
pub mod model;
mod store;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde::{Deserialize, Serialize};
use taishan_core::Clock;
use tokio_util::sync::CancellationToken;

pub use api::router;
pub use model::{ApplicationRequest, CreditLine, Drawdown, DrawdownRequest, RepaymentRequest};

use crate::db::Database;
use crate::error::ServiceError;
use crate::money::Money;
use crate::payment::{Payment, PaymentNotice, PaymentRequest, PaymentStatus, Purpose};
use crate::risk::{Decision, DecisionRequest, Verdict};
use crate::telemetry::{CallError, ServiceTelemetry, TracedClient};
use store::{NoticeOutcome, Table};

/// Where the loan service finds the others, and its book's rhythm.
#[derive(Debug, Clone)]
pub struct LoanSettings {
    /// The loan service's own base URL (for payment notices).
    pub self_url: String,
    /// The risk service.
    pub risk_url: String,
    /// The payment service.
    pub payment_url: String,
    /// Time between installments (compressed for the demo: minutes, not months).
    pub installment_every: Duration,
    /// A request still waiting for its payment this long is asked about again.
    pub waiting_after: Duration,
}

impl LoanSettings {
    /// The demo's rhythm: an installment every 10 minutes, waiting requests re-checked after 30 s.
    pub fn new(self_url: String, risk_url: String, payment_url: String) -> Self {
        Self {
            self_url,
            risk_url,
            payment_url,
            installment_every: Duration::from_secs(600),
            waiting_after: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
struct LoanMetrics {
    applications: Counter<u64>,
    application_amount: Counter<f64>,
    granted: Counter<u64>,
    granted_amount: Counter<f64>,
    disbursements: Counter<u64>,
    repayments: Counter<u64>,
    repayment_amount: Counter<f64>,
}

impl LoanMetrics {
    /// Every series at zero from the first export: dashboards show "none yet", not "no data".
    fn start_at_zero(&self) {
        for decision in ["approved", "rejected"] {
            let labels = [KeyValue::new("decision", decision)];
            self.applications.add(0, &labels);
            self.application_amount.add(0.0, &labels);
        }
        self.granted.add(0, &[]);
        self.granted_amount.add(0.0, &[]);
        for status in ["succeeded", "failed"] {
            self.disbursements
                .add(0, &[KeyValue::new("status", status)]);
        }
        for status in ["succeeded", "failed", "refunded"] {
            let labels = [KeyValue::new("status", status)];
            self.repayments.add(0, &labels);
            self.repayment_amount.add(0.0, &labels);
        }
    }
}

/// A decided application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplicationOutcome {
    /// The application's id.
    pub id: String,
    /// Risk's decision.
    pub decision: Decision,
    /// The line after the decision, if any.
    pub line: Option<CreditLine>,
}

/// A repayment as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repayment {
    /// Its id.
    pub id: String,
    /// The drawdown repaid.
    pub drawdown_id: String,
    /// How much.
    pub amount: Money,
    /// Of which interest.
    pub interest: Money,
    /// The collection's status.
    pub payment_status: PaymentStatus,
}

/// The loan service's state.
#[derive(Debug)]
pub struct Loans {
    db: Database,
    telemetry: Arc<ServiceTelemetry>,
    clock: Arc<dyn Clock>,
    client: TracedClient,
    settings: LoanSettings,
    metrics: LoanMetrics,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// The customer's bank account number (simulated, stable per customer).
fn account_of(customer: &str) -> String {
    let h = customer.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("6222{:012}", h % 1_000_000_000_000)
}

fn partner_of(customer: &str) -> &'static str {
    let h = customer.bytes().map(u64::from).sum::<u64>();
    model::PARTNERS[(h % model::PARTNERS.len() as u64) as usize]
}

impl Loans {
    /// Opens the loan book in `dir/loans.db`.
    pub fn open(
        dir: &Path,
        settings: LoanSettings,
        telemetry: Arc<ServiceTelemetry>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ServiceError> {
        let db = Database::open(&dir.join("loans.db"), "loan-db", store::SCHEMA)?;
        let meter = telemetry.meter();
        let metrics = LoanMetrics {
            applications: meter
                .u64_counter("loan.applications")
                .with_description("Loan applications by decision (approved, rejected)")
                .build(),
            application_amount: meter
                .f64_counter("loan.applications.amount")
                .with_description("Amount applied for in major units, by decision")
                .build(),
            granted: meter
                .u64_counter("loan.granted")
                .with_description("Loans granted: drawdowns paid out")
                .build(),
            granted_amount: meter
                .f64_counter("loan.granted.amount")
                .with_description("Money lent in major units")
                .build(),
            disbursements: meter
                .u64_counter("loan.disbursements")
                .with_description("Drawdowns by final status (succeeded, failed)")
                .build(),
            repayments: meter
                .u64_counter("loan.repayments")
                .with_description("Repayments by final status (succeeded, failed, refunded)")
                .build(),
            repayment_amount: meter
                .f64_counter("loan.repayments.amount")
                .with_description("Money repaid in major units, by final status")
                .build(),
        };
        metrics.start_at_zero();
        let book = db.clone();
        let book_clock = clock.clone();
        meter
            .f64_observable_gauge("loan.book.amount")
            .with_description("Principal and interest owed in major units: overdue, outstanding")
            .with_callback(move |o| {
                if let Ok((overdue, outstanding)) =
                    book.read(|c| store::book_totals(c, book_clock.now_ms()))
                {
                    o.observe(overdue.major(), &[KeyValue::new("state", "overdue")]);
                    o.observe(
                        outstanding.major(),
                        &[KeyValue::new("state", "outstanding")],
                    );
                }
            })
            .build();
        let client = TracedClient::new(telemetry.clone(), Duration::from_secs(5));
        Ok(Arc::new(Self {
            db,
            telemetry,
            clock,
            client,
            settings,
            metrics,
        }))
    }

    /// The service's telemetry.
    pub fn telemetry(&self) -> &Arc<ServiceTelemetry> {
        &self.telemetry
    }

    /// Asks risk to decide an application; opens or raises the credit line when approved.
    pub async fn apply(
        &self,
        cx: &Context,
        req: ApplicationRequest,
    ) -> Result<ApplicationOutcome, ServiceError> {
        req.check()?;
        let id = new_id("app");
        let ask = DecisionRequest {
            application_id: id.clone(),
            customer: req.customer.clone(),
            amount: req.amount,
            term: req.term,
        };
        let url = format!("{}/decisions", self.settings.risk_url);
        let decision: Decision = self
            .client
            .post(cx, "risk", "POST /decisions", &url, &ask)
            .await
            .map_err(upstream)?;
        let verdict = decision.verdict.as_str();
        let labels = [KeyValue::new("decision", verdict)];
        self.metrics.applications.add(1, &labels);
        self.metrics
            .application_amount
            .add(req.amount.major(), &labels);
        let now = self.clock.now_ms();
        let (customer, app_id, limit) = (req.customer.clone(), id.clone(), decision.limit);
        let approved = decision.verdict == Verdict::Approved;
        let line = self
            .db
            .run(&self.telemetry, cx, "record application", move |c| {
                let account = account_of(&customer);
                let line = approved.then(|| (partner_of(&customer), account.as_str(), limit));
                store::record_application(
                    c, &app_id, &customer, req.amount, req.term, verdict, line, now,
                )?;
                store::line(c, &customer)
            })
            .await?;
        Ok(ApplicationOutcome { id, decision, line })
    }

    /// Draws from the customer's line and pays it out.
    pub async fn drawdown(
        &self,
        cx: &Context,
        req: DrawdownRequest,
    ) -> Result<Drawdown, ServiceError> {
        req.check()?;
        let id = new_id("dd");
        let now = self.clock.now_ms();
        let (dd_id, r) = (id.clone(), req.clone());
        let d = self
            .db
            .run(&self.telemetry, cx, "reserve drawdown", move |c| {
                store::reserve_drawdown(c, &dd_id, &r, now)
            })
            .await?;
        let payment = PaymentRequest {
            idempotency_key: d.id.clone(),
            purpose: Purpose::Disbursement,
            customer: d.customer.clone(),
            account: d.account.clone(),
            partner: d.partner.clone(),
            amount: d.amount,
            interest: Money::ZERO,
            notify_url: Some(self.notice_url()),
        };
        self.pay(cx, Table::Drawdowns, &d.id, &payment).await;
        self.get_drawdown(&id)
    }

    /// Collects a repayment (by default, what is due next).
    pub async fn repay(
        &self,
        cx: &Context,
        req: RepaymentRequest,
    ) -> Result<Repayment, ServiceError> {
        let d = self.get_drawdown(&req.drawdown_id)?;
        if d.outstanding == Money::ZERO && req.amount.is_none() {
            return Err(ServiceError::BadRequest(format!(
                "drawdown_id: {} owes nothing",
                d.id
            )));
        }
        let schedule = self.db.read(|c| store::installments(c, &d.id))?;
        let amount = match req.amount {
            Some(a) if !a.is_positive() => {
                return Err(ServiceError::BadRequest(format!(
                    "amount: must be positive, got {a}"
                )))
            }
            Some(a) if a > d.outstanding => {
                return Err(ServiceError::BadRequest(format!(
                    "amount: {a} is more than the {} drawdown {} owes",
                    d.outstanding, d.id
                )))
            }
            Some(a) => a,
            None => schedule
                .iter()
                .map(|i| Money(i.principal.minor() + i.interest.minor() - i.paid.minor()))
                .find(|m| m.is_positive())
                .unwrap_or(Money::ZERO),
        };
        let (interest, _) = model::allocate(&schedule, amount);
        let id = new_id("rp");
        let now = self.clock.now_ms();
        let (rp, dd) = (id.clone(), d.id.clone());
        self.db
            .run(&self.telemetry, cx, "record repayment", move |c| {
                store::insert_repayment(c, &rp, &dd, amount, interest, now)
            })
            .await?;
        let payment = PaymentRequest {
            idempotency_key: id.clone(),
            purpose: Purpose::Repayment,
            customer: d.customer.clone(),
            account: d.account.clone(),
            partner: d.partner.clone(),
            amount,
            interest,
            notify_url: Some(self.notice_url()),
        };
        let status = self
            .pay(cx, Table::Repayments, &id, &payment)
            .await
            .map_or(PaymentStatus::Pending, |p| p.status);
        Ok(Repayment {
            id,
            drawdown_id: d.id,
            amount,
            interest,
            payment_status: status,
        })
    }

    fn notice_url(&self) -> String {
        format!("{}/payment-notices", self.settings.self_url)
    }

    /// Asks the payment service for the payment (idempotent by key) and applies it if it is
    /// already final. Errors leave the request waiting for the sweep.
    async fn pay(
        &self,
        cx: &Context,
        table: Table,
        id: &str,
        req: &PaymentRequest,
    ) -> Option<Payment> {
        let url = format!("{}/payments", self.settings.payment_url);
        match self
            .client
            .post::<_, Payment>(cx, "payment", "POST /payments", &url, req)
            .await
        {
            Ok(p) => {
                let now = self.clock.now_ms();
                let (id, payment_id) = (id.to_string(), p.id.clone());
                let _ = self
                    .db
                    .write(move |c| store::set_payment(c, table, &id, &payment_id, now))
                    .await;
                if p.status.is_final() {
                    if let Err(e) = self.notice(cx, PaymentNotice::from(&p)).await {
                        tracing::debug!(error = %e, "payment notice applied at creation");
                    }
                }
                Some(p)
            }
            Err(e) => {
                self.telemetry.log(
                    cx,
                    Severity::Warn,
                    format!("payment for {id} not confirmed yet: {e}"),
                    [KeyValue::new("request.id", id.to_string())],
                );
                if e.status().is_some_and(|s| s.is_client_error()) {
                    let failed = PaymentNotice {
                        payment_id: String::new(),
                        idempotency_key: id.to_string(),
                        purpose: req.purpose,
                        status: PaymentStatus::Failed,
                        amount: req.amount,
                        reason: Some(e.to_string()),
                    };
                    let _ = self.notice(cx, failed).await;
                }
                None
            }
        }
    }

    /// Applies a payment's final result to the drawdown or repayment it pays.
    pub async fn notice(&self, cx: &Context, n: PaymentNotice) -> Result<(), ServiceError> {
        if !n.status.is_final() {
            return Err(ServiceError::BadRequest(format!(
                "status: a notice must carry a final status, got {}",
                n.status.as_str()
            )));
        }
        let now = self.clock.now_ms();
        let every = self.settings.installment_every.as_millis() as i64;
        let key = n.idempotency_key.clone();
        let succeeded = n.status == PaymentStatus::Succeeded;
        let outcome = match n.purpose {
            Purpose::Disbursement => {
                self.db
                    .run(&self.telemetry, cx, "apply disbursement", move |c| {
                        if succeeded {
                            store::disbursed(c, &key, now, every)
                        } else {
                            store::drawdown_failed(c, &key, now)
                        }
                    })
                    .await
            }
            Purpose::Repayment => {
                self.db
                    .run(&self.telemetry, cx, "apply repayment", move |c| {
                        if succeeded {
                            store::repayment_paid(c, &key, now)
                        } else {
                            store::repayment_failed(c, &key, now)
                        }
                    })
                    .await
            }
            Purpose::Refund => return Ok(()),
        };
        let status = if succeeded { "succeeded" } else { "failed" };
        match (&outcome, n.purpose) {
            (Ok(NoticeOutcome::Applied), Purpose::Disbursement) => {
                self.metrics
                    .disbursements
                    .add(1, &[KeyValue::new("status", status)]);
                if succeeded {
                    self.metrics.granted.add(1, &[]);
                    self.metrics.granted_amount.add(n.amount.major(), &[]);
                }
            }
            (Ok(NoticeOutcome::Applied), Purpose::Repayment) => {
                let labels = [KeyValue::new("status", status)];
                self.metrics.repayments.add(1, &labels);
                self.metrics.repayment_amount.add(n.amount.major(), &labels);
            }
            (Err(ServiceError::Conflict(reason)), Purpose::Repayment) => {
                let labels = [KeyValue::new("status", "refunded")];
                self.metrics.repayments.add(1, &labels);
                self.metrics.repayment_amount.add(n.amount.major(), &labels);
                self.telemetry.log(
                    cx,
                    Severity::Warn,
                    format!("repayment {} refused: {reason}", n.idempotency_key),
                    [KeyValue::new("repayment.id", n.idempotency_key.clone())],
                );
            }
            _ => {}
        }
        outcome.map(|_| ())
    }

    /// Re-asks the payment service about requests still waiting for their payment.
    pub async fn sweep(&self) -> Result<usize, ServiceError> {
        let now = self.clock.now_ms();
        let before = now - self.settings.waiting_after.as_millis() as i64;
        let waiting = self.db.read(|c| store::waiting(c, before, 200))?;
        let count = waiting.len();
        for (table, id) in waiting {
            let tracer = self.telemetry.tracer();
            let cx = Context::new().with_span(tracer.start("re-check waiting payment"));
            let touched = id.clone();
            self.db
                .write(move |c| store::touch(c, table, &touched, now))
                .await?;
            if let Some(req) = self.payment_request_for(table, &id)? {
                self.pay(&cx, table, &id, &req).await;
            }
            cx.span().end();
        }
        Ok(count)
    }

    fn payment_request_for(
        &self,
        table: Table,
        id: &str,
    ) -> Result<Option<PaymentRequest>, ServiceError> {
        Ok(match table {
            Table::Drawdowns => self
                .db
                .read(|c| store::drawdown(c, id))?
                .map(|d| PaymentRequest {
                    idempotency_key: d.id,
                    purpose: Purpose::Disbursement,
                    customer: d.customer,
                    account: d.account,
                    partner: d.partner,
                    amount: d.amount,
                    interest: Money::ZERO,
                    notify_url: Some(self.notice_url()),
                }),
            Table::Repayments => {
                let Some((drawdown_id, amount, interest)) =
                    self.db.read(|c| store::repayment(c, id))?
                else {
                    return Ok(None);
                };
                let d = self.get_drawdown(&drawdown_id)?;
                Some(PaymentRequest {
                    idempotency_key: id.to_string(),
                    purpose: Purpose::Repayment,
                    customer: d.customer,
                    account: d.account,
                    partner: d.partner,
                    amount,
                    interest,
                    notify_url: Some(self.notice_url()),
                })
            }
        })
    }

    /// Sweeps every `every` until cancelled.
    pub async fn run(self: Arc<Self>, every: Duration, cancel: CancellationToken) {
        taishan_core::run_every(taishan_core::Ticker::new(every, cancel), || async {
            if let Err(e) = self.sweep().await {
                tracing::warn!(error = %e, "loan sweep failed; the next one retries");
            }
        })
        .await
    }

    /// The drawdown `id`.
    pub fn get_drawdown(&self, id: &str) -> Result<Drawdown, ServiceError> {
        self.db
            .read(|c| store::drawdown(c, id))?
            .ok_or_else(|| ServiceError::NotFound(format!("no drawdown {id:?}")))
    }

    /// The customer's credit line.
    pub fn line(&self, customer: &str) -> Result<CreditLine, ServiceError> {
        self.db
            .read(|c| store::line(c, customer))?
            .ok_or_else(|| ServiceError::NotFound(format!("{customer} has no credit line")))
    }

    /// The customer's drawdowns that still owe money.
    pub fn owing(&self, customer: &str) -> Result<Vec<String>, ServiceError> {
        self.db.read(|c| store::owing(c, customer))
    }
}

/// A dependency's error as this service's: its 4xx are the caller's problem, the rest ours.
pub(crate) fn upstream(e: CallError) -> ServiceError {
    match &e {
        CallError::Status { status, body, .. } if status.is_client_error() => {
            ServiceError::BadRequest(body.clone())
        }
        CallError::Status { status, .. } if status.as_u16() == 503 || status.as_u16() == 429 => {
            ServiceError::Unavailable {
                reason: e.to_string(),
                retry_after: Duration::from_secs(1),
            }
        }
        _ => ServiceError::Upstream(e.to_string()),
    }
}
