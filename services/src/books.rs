//! The demo's books as a drill's money proof reads them: straight from the services'
//! records (the ledger's trial balance, the payment records, compensation's queue for the drill's payments and its dead letters) and a
//! reconciliation run over the drill's window, not from metrics that lag.

use std::sync::Arc;

use opentelemetry::Context;
use taishan_chaos::drill::{BookKeeper, Books, BooksError, Reconciled};

use crate::demo::Demo;
use crate::error::ServiceError;
use crate::ledger::Ledger;
use crate::payment::{store, PaymentFilter, PaymentStatus, Payments};
use crate::reconciliation::{DifferenceKind, Reconciliation};

/// The services whose records make up the books; cheap to clone.
#[derive(Debug, Clone)]
pub struct DemoBooks {
    payments: Arc<Payments>,
    ledger: Arc<Ledger>,
    reconciliation: Arc<Reconciliation>,
}

impl Demo {
    /// The demo's books, for drills' money proofs.
    pub fn books(&self) -> DemoBooks {
        DemoBooks {
            payments: self.payments.clone(),
            ledger: self.ledger.clone(),
            reconciliation: self.reconciliation.clone(),
        }
    }
}

#[async_trait::async_trait]
impl BookKeeper for DemoBooks {
    async fn read(&self, from_ms: i64, to_ms: i64, reconcile: bool) -> Result<Books, BooksError> {
        DemoBooks::read(self, from_ms, to_ms, reconcile)
            .await
            .map_err(|e| match e {
                ServiceError::BadRequest(why) => BooksError::Refused(why),
                other => BooksError::Failed(other.to_string()),
            })
    }
}

impl DemoBooks {
    /// The books for the payments created in `[from_ms, to_ms)`, reconciled when asked.
    pub async fn read(
        &self,
        from_ms: i64,
        to_ms: i64,
        reconcile: bool,
    ) -> Result<Books, ServiceError> {
        if from_ms >= to_ms {
            return Err(ServiceError::BadRequest(
                "from_ms: must be before to_ms".into(),
            ));
        }
        let made = self.payments.list(&PaymentFilter {
            created_from_ms: Some(from_ms),
            created_to_ms: Some(to_ms),
            ..PaymentFilter::default()
        })?;
        let sum = |keep: &dyn Fn(PaymentStatus) -> bool| {
            let chosen = made.iter().filter(|p| keep(p.status));
            chosen.fold((0u64, 0.0), |(n, amount), p| {
                (n + 1, amount + p.request.amount.major())
            })
        };
        let (open_payments, open_amount) = sum(&|s| !s.is_final());
        let (failed_payments, failed_amount) = sum(&|s| s == PaymentStatus::Failed);
        // The drill's own work: payments made since go on owing theirs for a moment.
        let (owed, dead) = self
            .payments
            .db()
            .read(|c| store::outbox_counts_between(c, from_ms, to_ms))?;
        let reconciliation = match reconcile {
            true => {
                let report = self
                    .reconciliation
                    .run(&Context::new(), from_ms, to_ms)
                    .await?;
                let duplicated = report
                    .differences
                    .iter()
                    .filter(|d| d.kind == DifferenceKind::Duplicated)
                    .count();
                Some(Reconciled {
                    payments: report.payments as u64,
                    differences: report.differences.len() as u64,
                    amount: report.total_value().major(),
                    duplicated: duplicated as u64,
                })
            }
            false => None,
        };
        Ok(Books {
            ledger_imbalance: self.ledger.trial_balance()?.total.major(),
            in_flight_amount: self.payments.in_flight_amount()?,
            open_payments,
            open_amount,
            failed_payments,
            failed_amount,
            compensation_backlog: (owed + dead).max(0) as u64,
            reconciliation,
        })
    }
}
