//! The credit rules: a full decision from a bureau score, and the conservative fallback.

use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::money::Money;

/// An application to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The loan application's id.
    pub application_id: String,
    /// Who applies.
    pub customer: String,
    /// How much, minor units.
    pub amount: Money,
    /// Over how many installments.
    pub term: u32,
}

impl DecisionRequest {
    /// Every rule the request breaks, as one 400.
    pub fn check(&self) -> Result<(), ServiceError> {
        let mut problems = Vec::new();
        if self.application_id.is_empty() || self.application_id.len() > 200 {
            problems.push("application_id: must be 1–200 characters".to_string());
        }
        if self.customer.is_empty() || self.customer.len() > 200 {
            problems.push("customer: must be 1–200 characters".to_string());
        }
        if !self.amount.is_positive() {
            problems.push(format!("amount: must be positive, got {}", self.amount));
        }
        if !(1..=60).contains(&self.term) {
            problems.push(format!(
                "term: must be 1–60 installments, got {}",
                self.term
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::BadRequest(problems.join("; ")))
        }
    }
}

/// Yes or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Credit granted up to `limit`.
    Approved,
    /// No credit.
    Rejected,
}

impl Verdict {
    /// The name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

/// A credit decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Yes or no.
    pub verdict: Verdict,
    /// The credit line granted (zero when rejected).
    pub limit: Money,
    /// The score used (0–1000), if any.
    pub score: Option<u32>,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// `model`, `fallback` or `fraud`.
    pub source: String,
}

/// Largest amount the conservative rules grant.
const CONSERVATIVE_LIMIT: Money = Money(5_000_00);
/// Largest line the model grants.
const MODEL_LIMIT: Money = Money(200_000_00);

/// A customer's simulated bureau score: stable per customer, 300–900.
pub fn bureau_score(customer: &str) -> u32 {
    let h = customer.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    300 + (h % 601) as u32
}

/// The model's decision from a bureau score.
pub fn from_score(req: &DecisionRequest, score: u32) -> Decision {
    // Affordability: a higher score supports a larger line.
    let supported = Money(i64::from(score.saturating_sub(400)) * 400_00).min(MODEL_LIMIT);
    let mut reasons = vec![format!("bureau score {score}")];
    let verdict = if score < 480 {
        reasons.push("score below 480".into());
        Verdict::Rejected
    } else if req.amount > supported {
        reasons.push(format!("amount above the {supported} the score supports"));
        Verdict::Rejected
    } else {
        Verdict::Approved
    };
    Decision {
        verdict,
        limit: if verdict == Verdict::Approved {
            supported
        } else {
            Money::ZERO
        },
        score: Some(score),
        reasons,
        source: "model".into(),
    }
}

/// The fallback when the model cannot be used: small amounts only, a small line.
pub fn conservative(req: &DecisionRequest, why: &str) -> Decision {
    let approved = req.amount <= CONSERVATIVE_LIMIT;
    let mut reasons = vec![why.to_string()];
    if !approved {
        reasons.push(format!(
            "conservative rules grant at most {CONSERVATIVE_LIMIT}"
        ));
    }
    Decision {
        verdict: if approved {
            Verdict::Approved
        } else {
            Verdict::Rejected
        },
        limit: if approved {
            CONSERVATIVE_LIMIT
        } else {
            Money::ZERO
        },
        score: None,
        reasons,
        source: "fallback".into(),
    }
}

/// A refusal by the fraud checks.
pub fn refused(reason: String, source: &str) -> Decision {
    Decision {
        verdict: Verdict::Rejected,
        limit: Money::ZERO,
        score: None,
        reasons: vec![reason],
        source: source.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(amount: i64) -> DecisionRequest {
        DecisionRequest {
            application_id: "app-1".into(),
            customer: "c-1".into(),
            amount: Money(amount),
            term: 3,
        }
    }

    #[test]
    fn the_model_grants_what_the_score_supports() {
        let d = from_score(&req(10_000_00), 700);
        assert_eq!(d.verdict, Verdict::Approved);
        assert_eq!(d.limit, Money(120_000_00));
        assert_eq!(from_score(&req(10_000_00), 450).verdict, Verdict::Rejected);
        assert_eq!(from_score(&req(150_000_00), 700).verdict, Verdict::Rejected);
    }

    #[test]
    fn the_fallback_is_conservative() {
        assert_eq!(conservative(&req(4_000_00), "x").verdict, Verdict::Approved);
        let d = conservative(&req(6_000_00), "x");
        assert_eq!(
            (d.verdict, d.source.as_str()),
            (Verdict::Rejected, "fallback")
        );
        assert!(bureau_score("c-9") >= 300 && bureau_score("c-9") <= 900);
        assert_eq!(bureau_score("c-9"), bureau_score("c-9"));
    }
}
