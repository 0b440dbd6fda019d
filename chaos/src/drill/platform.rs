//! What a drill runner needs from the platform it drills: queries, the faults, the alerts,
//! the notifications, the guards and the books. `taishan drill run` speaks to a running
//! Taishan over its HTTP API; tests give the runner a scripted platform on a manual clock.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::drill::spec::ScheduledFault;

/// Why the platform could not answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct PlatformError(pub String);

/// The money as the services' own records show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Books {
    /// Debits minus credits over every ledger account (0 when the ledger balances).
    pub ledger_imbalance: f64,
    /// Money of every payment not final yet.
    pub in_flight_amount: f64,
    /// Payments created in the window asked about that are not final yet.
    pub open_payments: u64,
    /// Their money.
    pub open_amount: f64,
    /// Payments created in the window that failed (refused, not lost).
    pub failed_payments: u64,
    /// Their money.
    pub failed_amount: f64,
    /// Work compensation still owes for these payments (outbox items), and dead letters.
    pub compensation_backlog: u64,
    /// Reconciliation of the window, when it was asked for.
    pub reconciliation: Option<Reconciled>,
}

/// Why the books could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum BooksError {
    /// The window asked about is not one (a 400).
    #[error("{0}")]
    Refused(String),
    /// The records could not be read (a 500).
    #[error("{0}")]
    Failed(String),
}

/// Who keeps the books a drill's money proof reads: the demo services' own records,
/// served by the chaos API (`POST /api/v1/chaos/books`).
#[async_trait]
pub trait BookKeeper: Send + Sync {
    /// The books of payments created in `[from_ms, to_ms)`, reconciled when asked.
    async fn read(&self, from_ms: i64, to_ms: i64, reconcile: bool) -> Result<Books, BooksError>;
}

/// What reconciliation found over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconciled {
    /// Payments compared.
    pub payments: u64,
    /// Differences between payments, bank statements and the ledger.
    pub differences: u64,
    /// Their money value.
    pub amount: f64,
    /// Of them, money moved twice.
    pub duplicated: u64,
}

/// The platform a drill runs against.
#[async_trait]
pub trait Platform: Send + Sync {
    /// Whether `expr` returns at least one sample now.
    async fn holds(&self, expr: &str) -> Result<bool, PlatformError>;
    /// The sum of the samples `expr` returns now (`None`: no sample).
    async fn value(&self, expr: &str) -> Result<Option<f64>, PlatformError>;
    /// Arms `fault` for `lease`; its id.
    async fn arm(
        &self,
        fault: &ScheduledFault,
        lease: Duration,
        by: &str,
    ) -> Result<String, PlatformError>;
    /// Extends fault `id`'s lease.
    async fn renew(&self, id: &str, lease: Duration) -> Result<(), PlatformError>;
    /// Disarms fault `id` (one already gone is not an error).
    async fn disarm(&self, id: &str) -> Result<(), PlatformError>;
    /// Whether an alert named `alertname` fires now (any alert, when it is empty).
    async fn firing(&self, alertname: &str) -> Result<bool, PlatformError>;
    /// When a notification of `alertname` (any, when empty) was first delivered at or after
    /// `since_ms`.
    async fn notified(&self, alertname: &str, since_ms: i64) -> Result<Option<i64>, PlatformError>;
    /// The state guard `guard` of `service` reports now.
    async fn guard_state(
        &self,
        service: &str,
        guard: &str,
    ) -> Result<Option<String>, PlatformError>;
    /// The books for the payments created in `[from_ms, to_ms)`, reconciled when asked.
    async fn books(
        &self,
        from_ms: i64,
        to_ms: i64,
        reconcile: bool,
    ) -> Result<Books, PlatformError>;
    /// The root-cause ranking of `alertname` as of an incident at `at_ms`, most likely
    /// first (names as the ranking gives them: `ledger`, `compensation → ledger`). A
    /// platform without an analyzer ranks nothing.
    async fn root_cause(
        &self,
        _alertname: &str,
        _at_ms: i64,
    ) -> Result<Vec<String>, PlatformError> {
        Ok(Vec::new())
    }
}
