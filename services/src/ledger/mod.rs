//! `ledger`: double-entry bookkeeping. Journal entries whose legs sum to zero, posted once
//! per idempotency key, balances per account, in the service's own SQLite database.

pub mod accounts;
mod api;
pub mod book;

use std::path::Path;
use std::sync::Arc;

use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::{Context, KeyValue};
use taishan_core::Clock;

pub use api::router;
pub use book::{JournalEntry, Leg, Posted, ReferenceFlow, TrialBalance};

use crate::db::Database;
use crate::error::ServiceError;
use crate::telemetry::ServiceTelemetry;

/// The ledger service's state.
#[derive(Debug)]
pub struct Ledger {
    db: Database,
    telemetry: Arc<ServiceTelemetry>,
    clock: Arc<dyn Clock>,
    entries: Counter<u64>,
}

impl Ledger {
    /// Opens the books in `dir/ledger.db`.
    pub fn open(
        dir: &Path,
        telemetry: Arc<ServiceTelemetry>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ServiceError> {
        let db = Database::open(&dir.join("ledger.db"), "ledger-db", book::SCHEMA)?;
        let meter = telemetry.meter();
        let entries = meter
            .u64_counter("ledger.entries")
            .with_description("Journal entries by outcome: posted, already_posted, refused")
            .build();
        // Zeros from the first export: dashboards show "none yet", not "no data".
        for outcome in ["posted", "already_posted", "refused"] {
            entries.add(0, &[KeyValue::new("outcome", outcome)]);
        }
        let books = db.clone();
        meter
            .f64_observable_gauge("ledger.imbalance")
            .with_description("Sum of all account balances in major units; must stay 0")
            .with_callback(move |o| {
                let sum: Result<i64, _> = books.read(|c| {
                    c.query_row("SELECT COALESCE(SUM(balance), 0) FROM accounts", [], |r| {
                        r.get(0)
                    })
                });
                if let Ok(sum) = sum {
                    o.observe(sum as f64 / 100.0, &[]);
                }
            })
            .build();
        let books = db.clone();
        meter
            .f64_observable_gauge("ledger.balance")
            .with_description("Balance of each account in major units (debits positive)")
            .with_callback(move |o| {
                if let Ok(all) = books.read(book::balances) {
                    for a in all {
                        o.observe(a.balance.major(), &[KeyValue::new("account", a.name)]);
                    }
                }
            })
            .build();
        Ok(Arc::new(Self {
            db,
            telemetry,
            clock,
            entries,
        }))
    }

    /// Posts an entry (idempotent per key).
    pub async fn post(&self, cx: &Context, entry: JournalEntry) -> Result<Posted, ServiceError> {
        let now = self.clock.now_ms();
        let key = entry.idempotency_key.clone();
        let result = self
            .db
            .run(&self.telemetry, cx, "post entry", move |c| {
                book::post(c, &entry, now)
            })
            .await;
        let outcome = match &result {
            Ok(Posted::Posted(_)) => "posted",
            Ok(Posted::AlreadyPosted(_)) => "already_posted",
            Err(_) => "refused",
        };
        self.entries.add(1, &[KeyValue::new("outcome", outcome)]);
        match &result {
            Ok(p) => self.telemetry.log(
                cx,
                Severity::Info,
                format!("entry {key}: {outcome}"),
                [
                    KeyValue::new("idempotency_key", key),
                    KeyValue::new("entry", format!("{p:?}")),
                ],
            ),
            Err(e) => self.telemetry.log(
                cx,
                Severity::Warn,
                format!("entry {key} refused: {e}"),
                [KeyValue::new("idempotency_key", key)],
            ),
        }
        result
    }

    /// The books' totals, summed from the legs.
    pub fn trial_balance(&self) -> Result<TrialBalance, ServiceError> {
        self.db.read(book::trial_balance)
    }

    /// The flows of `references` through external accounts.
    pub fn flows_for(
        &self,
        references: &[String],
    ) -> Result<Vec<(String, ReferenceFlow)>, ServiceError> {
        self.db.read(|c| book::flows_for(c, references))
    }

    fn db(&self) -> &Database {
        &self.db
    }

    fn telemetry(&self) -> &ServiceTelemetry {
        &self.telemetry
    }
}
