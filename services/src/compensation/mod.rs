//! `compensation`: the second insurance behind every transfer. An outbox worker that
//! delivers what each final payment owes (its ledger posting, the requester's notice) with
//! backoff and a dead-letter list, and a sweeper that drives stuck payments to a final
//! state: it asks the bank, resubmits to the same channel (never another: the first may
//! still pay), or gives up only when no channel has the transfer. A repayment the loan
//! refuses (paid twice) is refunded.
//!
//! The outbox lives in the payment database so that a payment's result and the work it
//! owes commit in one transaction; the worker therefore runs beside the payment service's
//! records, with its own telemetry and HTTP API.

mod api;
mod worker;

pub use api::router;
pub use worker::{Backlog, Compensation, CompensationSettings, Sweep};
