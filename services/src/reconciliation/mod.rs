//! `reconciliation`: compares the payment records, each bank channel's statement and the
//! ledger, and reports every difference with its money value: missing, duplicated, amount
//! mismatch, status mismatch.

mod api;
mod compare;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use parking_lot::Mutex;
use taishan_core::{Clock, Ticker};
use tokio_util::sync::CancellationToken;

pub use api::router;
pub use compare::{Difference, DifferenceKind, Report, Side};

use crate::bank::StatementLine;
use crate::error::ServiceError;
use crate::ledger::ReferenceFlow;
use crate::loan::upstream;
use crate::payment::{fetch_payment, fetch_payments, Payment};
use crate::telemetry::{ServiceTelemetry, TracedClient};

/// Where the three sides are.
#[derive(Debug, Clone)]
pub struct ReconciliationSettings {
    /// The payment service.
    pub payment_url: String,
    /// The banks.
    pub banks_url: String,
    /// The ledger.
    pub ledger_url: String,
    /// The channels whose statements are read.
    pub channels: Vec<String>,
    /// Time between scheduled runs.
    pub interval: Duration,
    /// How much of the past a scheduled run covers.
    pub window: Duration,
    /// How long payments get to settle before a scheduled run looks at them.
    pub settle_grace: Duration,
}

impl ReconciliationSettings {
    /// A run every minute over the 10 minutes that ended 2 minutes ago.
    pub fn new(
        payment_url: String,
        banks_url: String,
        ledger_url: String,
        channels: Vec<String>,
    ) -> Self {
        Self {
            payment_url,
            banks_url,
            ledger_url,
            channels,
            interval: Duration::from_secs(60),
            window: Duration::from_secs(600),
            settle_grace: Duration::from_secs(120),
        }
    }
}

/// The reconciliation service's state.
#[derive(Debug)]
pub struct Reconciliation {
    telemetry: Arc<ServiceTelemetry>,
    client: TracedClient,
    clock: Arc<dyn Clock>,
    settings: ReconciliationSettings,
    latest: Arc<Mutex<Option<Report>>>,
    runs: Counter<u64>,
}

impl Reconciliation {
    /// A reconciler of the given sides.
    pub fn new(
        settings: ReconciliationSettings,
        telemetry: Arc<ServiceTelemetry>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let meter = telemetry.meter();
        let runs = meter
            .u64_counter("reconciliation.runs")
            .with_description("Reconciliation runs, by outcome (clean, differences, failed)")
            .build();
        let latest: Arc<Mutex<Option<Report>>> = Arc::default();
        let seen = latest.clone();
        meter
            .u64_observable_gauge("reconciliation.differences")
            .with_description("Differences found by the latest run, by kind and side")
            .with_callback(move |o| {
                if let Some(r) = seen.lock().as_ref() {
                    for (kind, side, count, _) in r.totals() {
                        o.observe(
                            count,
                            &[KeyValue::new("kind", kind), KeyValue::new("side", side)],
                        );
                    }
                }
            })
            .build();
        let seen = latest.clone();
        meter
            .f64_observable_gauge("reconciliation.differences.amount")
            .with_description(
                "Money value of the differences of the latest run in major units, by kind and side",
            )
            .with_callback(move |o| {
                if let Some(r) = seen.lock().as_ref() {
                    for (kind, side, _, amount) in r.totals() {
                        o.observe(
                            amount.major(),
                            &[KeyValue::new("kind", kind), KeyValue::new("side", side)],
                        );
                    }
                }
            })
            .build();
        Arc::new(Self {
            client: TracedClient::new(telemetry.clone(), Duration::from_secs(30)),
            telemetry,
            clock,
            settings,
            latest,
            runs,
        })
    }

    /// The service's telemetry.
    pub fn telemetry(&self) -> &Arc<ServiceTelemetry> {
        &self.telemetry
    }

    /// The latest report.
    pub fn latest(&self) -> Option<Report> {
        self.latest.lock().clone()
    }

    /// Reconciles the payments created in `[from_ms, to_ms)`.
    pub async fn run(
        &self,
        cx: &Context,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Report, ServiceError> {
        if from_ms >= to_ms {
            return Err(ServiceError::BadRequest(
                "from_ms: must be before to_ms".into(),
            ));
        }
        let result = self.compare(cx, from_ms, to_ms).await;
        let outcome = match &result {
            Ok(r) if r.differences.is_empty() => "clean",
            Ok(_) => "differences",
            Err(_) => "failed",
        };
        self.runs.add(1, &[KeyValue::new("outcome", outcome)]);
        if let Ok(report) = &result {
            let severity = if report.differences.is_empty() {
                Severity::Info
            } else {
                Severity::Error
            };
            self.telemetry.log(
                cx,
                severity,
                report.summary(),
                [
                    KeyValue::new(
                        "reconciliation.differences",
                        report.differences.len() as i64,
                    ),
                    KeyValue::new("reconciliation.value", report.total_value().to_string()),
                ],
            );
            *self.latest.lock() = Some(report.clone());
        }
        result
    }

    async fn compare(
        &self,
        cx: &Context,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Report, ServiceError> {
        let s = &self.settings;
        let now = self.clock.now_ms();
        let payments = fetch_payments(
            &self.client,
            cx,
            &s.payment_url,
            &format!("created_from_ms={from_ms}&created_to_ms={to_ms}"),
        )
        .await
        .map_err(upstream)?;
        let mut statements: Vec<(String, Vec<StatementLine>)> = Vec::new();
        for channel in &s.channels {
            // A payment settles after it is created: its line is in [from, now].
            let url = format!(
                "{}/channels/{channel}/statement?from_ms={from_ms}&to_ms={}",
                s.banks_url,
                now + 1
            );
            let lines = self
                .client
                .get(cx, channel, "GET /statement", &url)
                .await
                .map_err(upstream)?;
            statements.push((channel.clone(), lines));
        }
        let references: Vec<String> = payments.iter().map(|p| p.id.clone()).collect();
        let mut flows = self.ledger_flows(cx, &references).await?;
        let url = format!(
            "{}/references?from_ms={from_ms}&to_ms={to_ms}",
            s.ledger_url
        );
        let posted: Vec<String> = self
            .client
            .get(cx, "ledger", "GET /references", &url)
            .await
            .map_err(upstream)?;
        // References the other sides know but this window's payments do not: older payments
        // settling late are not differences; unknown ones are.
        let known: std::collections::HashSet<&str> =
            references.iter().map(String::as_str).collect();
        let mut strangers: Vec<String> = statements
            .iter()
            .flat_map(|(_, lines)| lines.iter().map(|l| l.reference.clone()))
            .chain(posted)
            .filter(|r| !known.contains(r.as_str()))
            .collect();
        strangers.sort();
        strangers.dedup();
        let mut older: Vec<Payment> = Vec::new();
        for r in &strangers {
            if let Some(p) = fetch_payment(&self.client, cx, &s.payment_url, r)
                .await
                .map_err(upstream)?
            {
                older.push(p);
            }
        }
        let unknown: Vec<String> = strangers
            .into_iter()
            .filter(|r| !older.iter().any(|p| &p.id == r))
            .collect();
        flows.extend(self.ledger_flows(cx, &unknown).await?);
        Ok(compare::reconcile(
            from_ms,
            to_ms,
            &payments,
            &statements,
            &flows,
            &older,
        ))
    }

    /// What the ledger moved through external accounts for each of `references`.
    async fn ledger_flows(
        &self,
        cx: &Context,
        references: &[String],
    ) -> Result<HashMap<String, ReferenceFlow>, ServiceError> {
        let url = format!("{}/flows", self.settings.ledger_url);
        let mut flows = HashMap::new();
        // The ledger answers at most 10 000 references per call.
        for chunk in references.chunks(5_000) {
            let found: std::collections::BTreeMap<String, ReferenceFlow> = self
                .client
                .post(
                    cx,
                    "ledger",
                    "POST /flows",
                    &url,
                    &serde_json::json!({ "references": chunk }),
                )
                .await
                .map_err(upstream)?;
            flows.extend(found);
        }
        Ok(flows)
    }

    /// Runs on schedule until cancelled.
    pub async fn run_scheduled(self: Arc<Self>, cancel: CancellationToken) {
        // The first run at start: its (clean) result is on the dashboards within seconds.
        let mut ticker = Ticker::new(self.settings.interval, cancel);
        while ticker.tick().await {
            let to = self.clock.now_ms() - self.settings.settle_grace.as_millis() as i64;
            let from = to - self.settings.window.as_millis() as i64;
            let tracer = self.telemetry.tracer();
            let cx = Context::new().with_span(tracer.start("scheduled reconciliation"));
            if let Err(e) = self.run(&cx, from, to).await {
                tracing::warn!(error = %e, "scheduled reconciliation failed; the next one retries");
            }
            cx.span().end();
        }
    }
}
