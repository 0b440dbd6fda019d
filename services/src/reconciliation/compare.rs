//! The comparison itself: pure, over what the three sides said.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::bank::StatementLine;
use crate::ledger::ReferenceFlow;
use crate::money::Money;
use crate::payment::{Payment, PaymentStatus};

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// One side has it, the other does not.
    Missing,
    /// A side has it more than once (or on two channels).
    Duplicated,
    /// Both have it with different amounts.
    AmountMismatch,
    /// Money moved on one side while the payment record says it did not (or not yet).
    StatusMismatch,
}

impl DifferenceKind {
    /// The name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Duplicated => "duplicated",
            Self::AmountMismatch => "amount_mismatch",
            Self::StatusMismatch => "status_mismatch",
        }
    }
}

/// Which side disagrees with the payment records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// A bank channel's statement.
    Bank,
    /// The ledger.
    Ledger,
    /// The payment records themselves (the others know something they do not).
    Payments,
}

impl Side {
    /// The name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bank => "bank",
            Self::Ledger => "ledger",
            Self::Payments => "payments",
        }
    }
}

/// One difference, with its money value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// What kind.
    pub kind: DifferenceKind,
    /// Which side.
    pub side: Side,
    /// The payment id (the reference everywhere).
    pub reference: String,
    /// The channel, where one is involved.
    pub channel: Option<String>,
    /// What the payment record implies.
    pub expected: Option<Money>,
    /// What the side shows.
    pub actual: Option<Money>,
    /// How much money the difference is worth.
    pub value: Money,
    /// In words.
    pub detail: String,
}

/// A run's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Payments created from.
    pub from_ms: i64,
    /// Payments created before.
    pub to_ms: i64,
    /// Payment records compared.
    pub payments: usize,
    /// Statement lines read.
    pub statement_lines: usize,
    /// Every difference found.
    pub differences: Vec<Difference>,
}

impl Report {
    /// Count and value per (kind, side) for every combination, zeros included (so a gauge
    /// drops back to 0 when a difference is gone).
    pub fn totals(&self) -> Vec<(&'static str, &'static str, u64, Money)> {
        let mut sums: BTreeMap<(DifferenceKind, Side), (u64, Money)> = BTreeMap::new();
        for kind in [
            DifferenceKind::Missing,
            DifferenceKind::Duplicated,
            DifferenceKind::AmountMismatch,
            DifferenceKind::StatusMismatch,
        ] {
            for side in [Side::Bank, Side::Ledger, Side::Payments] {
                sums.insert((kind, side), (0, Money::ZERO));
            }
        }
        for d in &self.differences {
            let e = sums.entry((d.kind, d.side)).or_default();
            e.0 += 1;
            e.1 = Money(e.1.minor() + d.value.minor());
        }
        sums.into_iter()
            .map(|((k, s), (n, v))| (k.as_str(), s.as_str(), n, v))
            .collect()
    }

    /// The money value of every difference.
    pub fn total_value(&self) -> Money {
        self.differences.iter().map(|d| d.value).sum()
    }

    /// One line for the log.
    pub fn summary(&self) -> String {
        if self.differences.is_empty() {
            format!(
                "reconciliation clean: {} payments, {} statement lines",
                self.payments, self.statement_lines
            )
        } else {
            format!(
                "reconciliation found {} difference(s) worth {} over {} payments",
                self.differences.len(),
                self.total_value(),
                self.payments
            )
        }
    }
}

fn abs_diff(a: Money, b: Money) -> Money {
    Money((a.minor() - b.minor()).abs())
}

/// Compares `payments` (created in the window) with the channels' statements and the
/// ledger's flows. `older` are payments from before the window that the other sides
/// mention (settled late): not differences.
pub fn reconcile(
    from_ms: i64,
    to_ms: i64,
    payments: &[Payment],
    statements: &[(String, Vec<StatementLine>)],
    flows: &HashMap<String, ReferenceFlow>,
    older: &[Payment],
) -> Report {
    let mut differences = Vec::new();
    let mut lines_by_ref: HashMap<&str, Vec<(&str, &StatementLine)>> = HashMap::new();
    for (channel, lines) in statements {
        for l in lines {
            lines_by_ref
                .entry(l.reference.as_str())
                .or_default()
                .push((channel.as_str(), l));
        }
    }
    let mut diff =
        |kind, side, p: &str, channel: Option<&str>, expected, actual, value, detail: String| {
            differences.push(Difference {
                kind,
                side,
                reference: p.to_string(),
                channel: channel.map(str::to_owned),
                expected,
                actual,
                value,
                detail,
            })
        };
    for p in payments {
        let amount = p.request.amount;
        let succeeded = p.status == PaymentStatus::Succeeded;
        let lines = lines_by_ref.get(p.id.as_str()).cloned().unwrap_or_default();
        let (on_channel, elsewhere): (Vec<_>, Vec<_>) = lines
            .iter()
            .partition(|(c, _)| Some(*c) == p.channel.as_deref());
        for (c, l) in &elsewhere {
            diff(
                DifferenceKind::Duplicated,
                Side::Bank,
                &p.id,
                Some(c),
                None,
                Some(l.amount),
                l.amount,
                format!(
                    "moved by {c} although the payment went to {}",
                    p.channel.as_deref().unwrap_or("no channel")
                ),
            );
        }
        let channel = p.channel.as_deref();
        if succeeded {
            match on_channel.as_slice() {
                [] => diff(
                    DifferenceKind::Missing,
                    Side::Bank,
                    &p.id,
                    channel,
                    Some(amount),
                    None,
                    amount,
                    "succeeded here, not on the bank statement".into(),
                ),
                [(_, first), rest @ ..] => {
                    if first.amount != amount {
                        diff(
                            DifferenceKind::AmountMismatch,
                            Side::Bank,
                            &p.id,
                            channel,
                            Some(amount),
                            Some(first.amount),
                            abs_diff(amount, first.amount),
                            format!("the statement shows {} for {amount}", first.amount),
                        );
                    }
                    if !rest.is_empty() {
                        let extra: Money = rest.iter().map(|(_, l)| l.amount).sum();
                        diff(
                            DifferenceKind::Duplicated,
                            Side::Bank,
                            &p.id,
                            channel,
                            Some(amount),
                            Some(Money(first.amount.minor() + extra.minor())),
                            extra,
                            format!("{} statement lines for one payment", rest.len() + 1),
                        );
                    }
                }
            }
        } else if !on_channel.is_empty() {
            let moved: Money = on_channel.iter().map(|(_, l)| l.amount).sum();
            diff(
                DifferenceKind::StatusMismatch,
                Side::Bank,
                &p.id,
                channel,
                None,
                Some(moved),
                moved,
                format!(
                    "the bank moved the money; the payment is {}",
                    p.status.as_str()
                ),
            );
        }
        let expected = p.external_flow();
        match (flows.get(&p.id), succeeded) {
            (None, true) => diff(
                DifferenceKind::Missing,
                Side::Ledger,
                &p.id,
                channel,
                Some(expected),
                None,
                amount,
                "succeeded, not posted to the ledger".into(),
            ),
            (Some(f), true) => {
                if f.entries > 1 {
                    diff(
                        DifferenceKind::Duplicated,
                        Side::Ledger,
                        &p.id,
                        channel,
                        Some(expected),
                        Some(f.external),
                        abs_diff(f.external, expected),
                        format!("{} ledger entries for one payment", f.entries),
                    );
                } else if f.external != expected {
                    diff(
                        DifferenceKind::AmountMismatch,
                        Side::Ledger,
                        &p.id,
                        channel,
                        Some(expected),
                        Some(f.external),
                        abs_diff(f.external, expected),
                        format!(
                            "the ledger moved {} through the bank for {expected}",
                            f.external
                        ),
                    );
                }
            }
            (Some(f), false) if f.external != Money::ZERO => diff(
                DifferenceKind::StatusMismatch,
                Side::Ledger,
                &p.id,
                channel,
                Some(Money::ZERO),
                Some(f.external),
                Money(f.external.minor().abs()),
                format!("posted, but the payment is {}", p.status.as_str()),
            ),
            _ => {}
        }
    }
    let known: HashSet<&str> = payments
        .iter()
        .chain(older)
        .map(|p| p.id.as_str())
        .collect();
    let mut strangers: Vec<&str> = lines_by_ref
        .keys()
        .copied()
        .filter(|r| !known.contains(r))
        .collect();
    strangers.sort_unstable();
    for r in strangers {
        for (c, l) in &lines_by_ref[r] {
            if l.settled_ms < to_ms {
                diff(
                    DifferenceKind::Missing,
                    Side::Payments,
                    r,
                    Some(c),
                    None,
                    Some(l.amount),
                    l.amount,
                    format!("on {c}'s statement with no payment record"),
                );
            }
        }
    }
    let mut unknown_posted: Vec<(&String, &ReferenceFlow)> = flows
        .iter()
        .filter(|(r, _)| !known.contains(r.as_str()))
        .collect();
    unknown_posted.sort_by(|a, b| a.0.cmp(b.0));
    for (r, f) in unknown_posted {
        diff(
            DifferenceKind::Missing,
            Side::Payments,
            r,
            None,
            None,
            Some(f.external),
            Money(f.external.minor().abs()),
            "posted to the ledger with no payment record".into(),
        );
    }
    Report {
        from_ms,
        to_ms,
        payments: payments.len(),
        statement_lines: statements.iter().map(|(_, l)| l.len()).sum(),
        differences,
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
