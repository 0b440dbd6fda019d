//! What a payment is: its purpose, amounts and states.

use serde::{Deserialize, Serialize};

use crate::bank::TransferKind;
use crate::error::ServiceError;
use crate::ledger::{JournalEntry, Leg};
use crate::money::Money;

/// Why money moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A loan paid out to the customer.
    Disbursement,
    /// A customer paying back (principal and interest).
    Repayment,
    /// Money returned to a customer who paid too much.
    Refund,
}

impl Purpose {
    /// The name in storage and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disbursement => "disbursement",
            Self::Repayment => "repayment",
            Self::Refund => "refund",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "disbursement" => Some(Self::Disbursement),
            "repayment" => Some(Self::Repayment),
            "refund" => Some(Self::Refund),
            _ => None,
        }
    }

    /// The direction at the bank.
    pub fn transfer_kind(self) -> TransferKind {
        match self {
            Self::Disbursement | Self::Refund => TransferKind::Payout,
            Self::Repayment => TransferKind::Collection,
        }
    }
}

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Recorded, not yet accepted by any channel.
    Pending,
    /// A channel accepted it; its result is awaited.
    Submitted,
    /// Sent, but no answer came: the channel may or may not have it.
    Unknown,
    /// Money moved. Final.
    Succeeded,
    /// No money moved. Final.
    Failed,
}

impl PaymentStatus {
    /// The name in storage and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Submitted => "submitted",
            Self::Unknown => "unknown",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "submitted" => Some(Self::Submitted),
            "unknown" => Some(Self::Unknown),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// A request to move money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// One payment per key: a retried request returns the first payment.
    pub idempotency_key: String,
    /// Why.
    pub purpose: Purpose,
    /// Who.
    pub customer: String,
    /// The customer's bank account.
    pub account: String,
    /// The funding partner the loan belongs to (`trust-1`).
    pub partner: String,
    /// How much, minor units.
    pub amount: Money,
    /// Of which interest (a repayment's, or the part of a refund that gives interest back).
    #[serde(default)]
    pub interest: Money,
    /// Where the final result is posted.
    #[serde(default)]
    pub notify_url: Option<String>,
}

impl PaymentRequest {
    /// Every rule the request breaks, as one 400.
    pub fn check(&self) -> Result<(), ServiceError> {
        let mut problems = Vec::new();
        let text = |field: &str, v: &str, problems: &mut Vec<String>| {
            if v.trim().is_empty() || v.len() > 200 {
                problems.push(format!("{field}: must be 1–200 characters"));
            }
        };
        text("idempotency_key", &self.idempotency_key, &mut problems);
        text("customer", &self.customer, &mut problems);
        text("account", &self.account, &mut problems);
        if self.partner.is_empty()
            || !self
                .partner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            problems.push("partner: must be 1 or more of a-z A-Z 0-9 - _".into());
        }
        if !self.amount.is_positive() || self.amount.minor() > 100_000_000_00 {
            problems.push(format!(
                "amount: must be positive and at most 100000000.00, got {}",
                self.amount
            ));
        }
        if self.interest.minor() < 0 || self.interest > self.amount {
            problems.push("interest: must be between 0 and amount".into());
        }
        if self.purpose == Purpose::Disbursement && self.interest != Money::ZERO {
            problems.push("interest: a disbursement carries no interest".into());
        }
        if let Some(url) = &self.notify_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push("notify_url: must be an http(s) URL".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::BadRequest(problems.join("; ")))
        }
    }
}

/// A payment as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Its id, also the reference at the bank and in the ledger.
    pub id: String,
    /// What created it.
    pub request: PaymentRequest,
    /// Where it is.
    pub status: PaymentStatus,
    /// The channel it went to, once one accepted it (or was sent it).
    pub channel: Option<String>,
    /// Submissions made.
    pub attempts: i64,
    /// Why it failed, or the last problem.
    pub reason: Option<String>,
    /// When it was recorded.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// When it became final.
    pub final_ms: Option<i64>,
}

impl Payment {
    /// The amount signed as it moves through external (bank) accounts in the ledger: a payout
    /// credits the bank (negative), a collection debits it.
    pub fn external_flow(&self) -> Money {
        match self.request.purpose.transfer_kind() {
            TransferKind::Payout => Money(-self.request.amount.minor()),
            TransferKind::Collection => self.request.amount,
        }
    }

    /// The journal entry a succeeded payment posts.
    pub fn journal_entry(&self) -> Option<JournalEntry> {
        let channel = self.channel.as_ref()?;
        let r = &self.request;
        let bank = format!("bank:{channel}");
        let loans = format!("loans:{}", r.partner);
        let principal = Money(r.amount.minor() - r.interest.minor());
        let legs = match r.purpose {
            Purpose::Disbursement => vec![
                Leg {
                    account: loans,
                    amount: r.amount,
                },
                Leg {
                    account: bank,
                    amount: Money(-r.amount.minor()),
                },
            ],
            // The exact reverse of the repayment it returns.
            Purpose::Refund => {
                let mut legs = vec![Leg {
                    account: bank,
                    amount: Money(-r.amount.minor()),
                }];
                if principal.is_positive() {
                    legs.push(Leg {
                        account: loans,
                        amount: principal,
                    });
                }
                if r.interest.is_positive() {
                    legs.push(Leg {
                        account: "income:interest".into(),
                        amount: r.interest,
                    });
                }
                legs
            }
            Purpose::Repayment => {
                let mut legs = vec![Leg {
                    account: bank,
                    amount: r.amount,
                }];
                if principal.is_positive() {
                    legs.push(Leg {
                        account: loans,
                        amount: Money(-principal.minor()),
                    });
                }
                if r.interest.is_positive() {
                    legs.push(Leg {
                        account: "income:interest".into(),
                        amount: Money(-r.interest.minor()),
                    });
                }
                legs
            }
        };
        Some(JournalEntry {
            idempotency_key: format!("payment:{}", self.id),
            reference: Some(self.id.clone()),
            description: format!("{} {} via {channel}", r.purpose.as_str(), self.id),
            legs,
        })
    }
}

/// What the payment service tells the requester when a payment becomes final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotice {
    /// The payment.
    pub payment_id: String,
    /// The requester's idempotency key (the loan's drawdown or repayment id).
    pub idempotency_key: String,
    /// Why it moved.
    pub purpose: Purpose,
    /// How it ended.
    pub status: PaymentStatus,
    /// How much.
    pub amount: Money,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

impl From<&Payment> for PaymentNotice {
    fn from(p: &Payment) -> Self {
        Self {
            payment_id: p.id.clone(),
            idempotency_key: p.request.idempotency_key.clone(),
            purpose: p.request.purpose,
            status: p.status,
            amount: p.request.amount,
            reason: p.reason.clone(),
        }
    }
}
