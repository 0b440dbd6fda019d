use super::*;
use crate::bank::TransferKind;
use crate::payment::{PaymentRequest, Purpose};

fn payment(id: &str, status: PaymentStatus, amount: i64) -> Payment {
    Payment {
        id: id.into(),
        request: PaymentRequest {
            idempotency_key: id.into(),
            purpose: Purpose::Disbursement,
            customer: "c".into(),
            account: "a".into(),
            partner: "trust-1".into(),
            amount: Money(amount),
            interest: Money::ZERO,
            notify_url: None,
        },
        status,
        channel: Some("bank-a".into()),
        attempts: 1,
        reason: None,
        created_ms: 10,
        updated_ms: 10,
        final_ms: None,
    }
}

fn line(reference: &str, amount: i64) -> StatementLine {
    StatementLine {
        reference: reference.into(),
        kind: TransferKind::Payout,
        amount: Money(amount),
        settled_ms: 20,
    }
}

fn posted(amount: i64, entries: i64) -> ReferenceFlow {
    ReferenceFlow {
        external: Money(-amount),
        entries,
    }
}

#[test]
fn agreeing_sides_have_no_differences() {
    let payments = [
        payment("p1", PaymentStatus::Succeeded, 500),
        payment("p2", PaymentStatus::Failed, 70),
    ];
    let statements = [("bank-a".to_string(), vec![line("p1", 500)])];
    let flows = HashMap::from([("p1".to_string(), posted(500, 1))]);
    let r = reconcile(0, 100, &payments, &statements, &flows, &[]);
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    assert_eq!((r.payments, r.statement_lines), (2, 1));
}

#[test]
fn every_kind_is_found_with_its_value() {
    let payments = [
        payment("missing-at-bank", PaymentStatus::Succeeded, 100),
        payment("twice-at-bank", PaymentStatus::Succeeded, 200),
        payment("altered", PaymentStatus::Succeeded, 300),
        payment("callback-lost", PaymentStatus::Submitted, 400),
        payment("not-posted", PaymentStatus::Succeeded, 500),
        payment("posted-twice", PaymentStatus::Succeeded, 600),
        payment("posted-but-failed", PaymentStatus::Failed, 700),
        payment("other-channel", PaymentStatus::Succeeded, 800),
    ];
    let statements = [
        (
            "bank-a".to_string(),
            vec![
                line("twice-at-bank", 200),
                line("twice-at-bank", 200),
                line("altered", 350),
                line("callback-lost", 400),
                line("not-posted", 500),
                line("posted-twice", 600),
                line("other-channel", 800),
                line("stranger", 900),
            ],
        ),
        ("bank-b".to_string(), vec![line("other-channel", 800)]),
    ];
    let flows = HashMap::from([
        ("missing-at-bank".to_string(), posted(100, 1)),
        ("twice-at-bank".to_string(), posted(200, 1)),
        ("altered".to_string(), posted(300, 1)),
        ("posted-twice".to_string(), posted(1_200, 2)),
        ("posted-but-failed".to_string(), posted(700, 1)),
        ("other-channel".to_string(), posted(800, 1)),
        ("ghost".to_string(), posted(50, 1)),
    ]);
    let r = reconcile(0, 100, &payments, &statements, &flows, &[]);
    let found: Vec<_> = r
        .differences
        .iter()
        .map(|d| (d.reference.as_str(), d.kind, d.side, d.value.minor()))
        .collect();
    use DifferenceKind::*;
    assert_eq!(
        found,
        [
            ("missing-at-bank", Missing, Side::Bank, 100),
            ("twice-at-bank", Duplicated, Side::Bank, 200),
            ("altered", AmountMismatch, Side::Bank, 50),
            ("callback-lost", StatusMismatch, Side::Bank, 400),
            ("not-posted", Missing, Side::Ledger, 500),
            ("posted-twice", Duplicated, Side::Ledger, 600),
            ("posted-but-failed", StatusMismatch, Side::Ledger, 700),
            ("other-channel", Duplicated, Side::Bank, 800),
            ("stranger", Missing, Side::Payments, 900),
            ("ghost", Missing, Side::Payments, 50),
        ]
    );
    assert_eq!(r.total_value(), Money(4_300));
    let totals = r.totals();
    assert_eq!(totals.len(), 12, "every kind × side, zeros included");
    assert!(totals.contains(&("missing", "payments", 2, Money(950))));
}

#[test]
fn payments_from_before_the_window_settling_late_are_not_strangers() {
    let older = [payment("old", PaymentStatus::Succeeded, 100)];
    let statements = [("bank-a".to_string(), vec![line("old", 100)])];
    let flows = HashMap::from([("old".to_string(), posted(100, 1))]);
    let r = reconcile(50, 100, &[], &statements, &flows, &older);
    assert!(r.differences.is_empty(), "{:?}", r.differences);
}
