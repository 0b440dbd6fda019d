//! The loan book's words: applications, credit lines, drawdowns, installments, repayments.

use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::money::Money;

/// Funding partners a loan can belong to (the ledger keeps a loan book per partner).
pub const PARTNERS: &[&str] = &["trust-1", "coop-2", "bank-partner-3"];

/// Interest per installment, in basis points of the drawn principal.
pub const INTEREST_BPS_PER_INSTALLMENT: i64 = 100;

/// An application for a credit line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// Who applies.
    pub customer: String,
    /// How much, minor units.
    pub amount: Money,
    /// Installments wanted (1–60).
    pub term: u32,
}

/// A drawdown request: money out of the customer's credit line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawdownRequest {
    /// Whose line.
    pub customer: String,
    /// How much, minor units.
    pub amount: Money,
    /// Installments (1–60).
    pub term: u32,
}

/// A repayment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepaymentRequest {
    /// The drawdown repaid.
    pub drawdown_id: String,
    /// How much; default: what is due next.
    #[serde(default)]
    pub amount: Option<Money>,
}

fn check_customer(customer: &str, problems: &mut Vec<String>) {
    if customer.is_empty()
        || customer.len() > 100
        || !customer
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        problems.push("customer: must be 1–100 of a-z A-Z 0-9 - _".into());
    }
}

fn check_amount_and_term(amount: Money, term: u32, problems: &mut Vec<String>) {
    if !amount.is_positive() || amount > Money(1_000_000_00) {
        problems.push(format!(
            "amount: must be positive and at most 1000000.00, got {amount}"
        ));
    }
    if !(1..=60).contains(&term) {
        problems.push(format!("term: must be 1–60 installments, got {term}"));
    }
}

fn done(problems: Vec<String>) -> Result<(), ServiceError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::BadRequest(problems.join("; ")))
    }
}

impl ApplicationRequest {
    /// Every rule broken, as one 400.
    pub fn check(&self) -> Result<(), ServiceError> {
        let mut problems = Vec::new();
        check_customer(&self.customer, &mut problems);
        check_amount_and_term(self.amount, self.term, &mut problems);
        done(problems)
    }
}

impl DrawdownRequest {
    /// Every rule broken, as one 400.
    pub fn check(&self) -> Result<(), ServiceError> {
        let mut problems = Vec::new();
        check_customer(&self.customer, &mut problems);
        check_amount_and_term(self.amount, self.term, &mut problems);
        done(problems)
    }
}

/// A credit line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLine {
    /// Whose.
    pub customer: String,
    /// The funding partner.
    pub partner: String,
    /// The customer's bank account.
    pub account: String,
    /// Granted.
    pub limit: Money,
    /// Drawn and not repaid (or in flight).
    pub used: Money,
}

/// Where a drawdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawdownStatus {
    /// Paying out.
    Pending,
    /// Paid out; installments running.
    Disbursed,
    /// The pay-out failed; the line was released.
    Failed,
}

/// A drawdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawdown {
    /// Its id (the payment's idempotency key).
    pub id: String,
    /// Whose.
    pub customer: String,
    /// The partner funding it.
    pub partner: String,
    /// Where the money goes.
    pub account: String,
    /// How much.
    pub amount: Money,
    /// Installments.
    pub term: u32,
    /// Where it is.
    pub status: DrawdownStatus,
    /// The pay-out.
    pub payment_id: Option<String>,
    /// Principal and interest still owed.
    pub outstanding: Money,
}

/// One installment of a drawdown's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    /// 1-based.
    pub seq: u32,
    /// When due.
    pub due_ms: i64,
    /// Principal due.
    pub principal: Money,
    /// Interest due.
    pub interest: Money,
    /// Paid so far.
    pub paid: Money,
}

/// The installments of `amount` over `term`, the first due `every_ms` after `start_ms`:
/// equal principal (the last takes the rounding), flat interest.
pub fn schedule(amount: Money, term: u32, start_ms: i64, every_ms: i64) -> Vec<Installment> {
    let term = term.max(1);
    let base = amount.minor() / i64::from(term);
    let interest = Money(amount.minor() * INTEREST_BPS_PER_INSTALLMENT / 10_000);
    (1..=term)
        .map(|seq| {
            let principal = if seq == term {
                amount.minor() - base * i64::from(term - 1)
            } else {
                base
            };
            Installment {
                seq,
                due_ms: start_ms + every_ms * i64::from(seq),
                principal: Money(principal),
                interest,
                paid: Money::ZERO,
            }
        })
        .collect()
}

/// How a payment splits over installments: (interest, principal) paid, interest first.
pub fn allocate(installments: &[Installment], amount: Money) -> (Money, Money) {
    let mut left = amount.minor();
    let (mut interest, mut principal) = (0, 0);
    for i in installments {
        let paid = i.paid.minor();
        let interest_due = (i.interest.minor() - paid).max(0);
        let principal_due = i.principal.minor() - (paid - i.interest.minor()).max(0);
        let take = left.min(interest_due);
        interest += take;
        left -= take;
        let take = left.min(principal_due.max(0));
        principal += take;
        left -= take;
        if left == 0 {
            break;
        }
    }
    (Money(interest), Money(principal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_repays_the_principal_exactly() {
        let s = schedule(Money(1_000_01), 3, 0, 10);
        let principal: Money = s.iter().map(|i| i.principal).sum();
        assert_eq!(principal, Money(1_000_01));
        assert_eq!(s[0].interest, Money(10_00));
        assert_eq!(s.iter().map(|i| i.due_ms).collect::<Vec<_>>(), [10, 20, 30]);
    }

    #[test]
    fn payments_go_to_interest_first_then_principal_in_order() {
        let mut s = schedule(Money(300_00), 3, 0, 10);
        assert_eq!(allocate(&s, Money(50_00)), (Money(3_00), Money(47_00)));
        s[0].paid = Money(103_00);
        // The first installment is settled; the next payment starts on the second.
        assert_eq!(allocate(&s, Money(10_00)), (Money(3_00), Money(7_00)));
    }
}
