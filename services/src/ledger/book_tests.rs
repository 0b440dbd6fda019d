use proptest::prelude::*;

use super::*;

fn books() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn
}

fn payout(key: &str, partner: &str, channel: &str, amount: i64) -> JournalEntry {
    JournalEntry {
        idempotency_key: key.into(),
        reference: Some(key.into()),
        description: "disbursement".into(),
        legs: vec![
            Leg {
                account: format!("loans:{partner}"),
                amount: Money(amount),
            },
            Leg {
                account: format!("bank:{channel}"),
                amount: Money(-amount),
            },
        ],
    }
}

#[test]
fn a_key_posts_once_and_a_different_entry_under_it_conflicts() {
    let mut c = books();
    let e = payout("p-1", "trust-1", "bank-a", 10_000);
    let Posted::Posted(id) = post(&mut c, &e, 1).unwrap() else {
        panic!("first post must be new")
    };
    assert_eq!(post(&mut c, &e, 2).unwrap(), Posted::AlreadyPosted(id));
    let other = payout("p-1", "trust-1", "bank-a", 10_001);
    assert!(matches!(
        post(&mut c, &other, 3),
        Err(ServiceError::Conflict(_))
    ));
    let tb = trial_balance(&c).unwrap();
    assert_eq!(
        (tb.total, tb.internal, tb.entries),
        (Money::ZERO, Money(10_000), 1)
    );
}

#[test]
fn unbalanced_and_malformed_entries_are_refused_whole() {
    let mut c = books();
    let mut e = payout("p-2", "trust-1", "bank-a", 500);
    e.legs[1].amount = Money(-499);
    let err = post(&mut c, &e, 1).unwrap_err().to_string();
    assert!(err.contains("sum to zero, they sum to 0.01"), "{err}");
    e.legs[1] = Leg {
        account: "cash:x".into(),
        amount: Money(-500),
    };
    assert!(post(&mut c, &e, 1)
        .unwrap_err()
        .to_string()
        .starts_with("legs[1].account"));
    e.legs.truncate(1);
    assert!(post(&mut c, &e, 1).is_err());
    assert_eq!(trial_balance(&c).unwrap().entries, 0);
    assert!(balances(&c).unwrap().is_empty(), "nothing half-written");
}

#[test]
fn flows_by_reference_sum_external_legs() {
    let mut c = books();
    post(&mut c, &payout("p-3", "trust-1", "bank-a", 700), 5).unwrap();
    let flows = flows_for(&c, &["p-3".into(), "nope".into()]).unwrap();
    assert_eq!(
        flows,
        [(
            "p-3".to_string(),
            ReferenceFlow {
                external: Money(-700),
                entries: 1
            }
        )]
    );
    assert_eq!(references_posted(&c, 0, 10).unwrap(), ["p-3"]);
    assert!(references_posted(&c, 6, 10).unwrap().is_empty());
}

#[test]
fn concurrent_posts_of_one_key_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    books_at(&path);
    std::thread::scope(|s| {
        for t in 0..4 {
            let path = path.clone();
            s.spawn(move || {
                let mut c = Connection::open(&path).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                for i in 0..50 {
                    // Every thread posts the same 50 keys.
                    let r = post(
                        &mut c,
                        &payout(&format!("k-{i}"), "p", "bank-a", 100 + i),
                        t,
                    );
                    assert!(r.is_ok(), "{r:?}");
                }
            });
        }
    });
    let c = Connection::open(&path).unwrap();
    let tb = trial_balance(&c).unwrap();
    assert_eq!(tb.entries, 50);
    assert_eq!(tb.internal, Money((0..50).map(|i| 100 + i).sum()));
    assert_eq!(tb.total, Money::ZERO);
}

fn books_at(path: &std::path::Path) {
    let c = Connection::open(path).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    c.execute_batch(SCHEMA).unwrap();
}

fn account() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bank:bank-a".to_string()),
        Just("bank:bank-b".to_string()),
        Just("loans:trust-1".to_string()),
        Just("loans:coop-2".to_string()),
        Just("income:interest".to_string()),
        Just("cash:nowhere".to_string()),
    ]
}

fn entry() -> impl Strategy<Value = JournalEntry> {
    (
        0u8..30,
        prop::collection::vec((account(), -10_000i64..10_000), 1..5),
        any::<bool>(),
    )
        .prop_map(|(key, legs, balance)| {
            let mut legs: Vec<Leg> = legs
                .into_iter()
                .map(|(account, amount)| Leg {
                    account,
                    amount: Money(amount),
                })
                .collect();
            if balance {
                // Make most entries balance by adding the missing amount as a last leg.
                let sum: Money = legs.iter().map(|l| l.amount).sum();
                legs.push(Leg {
                    account: "bank:bank-c".into(),
                    amount: Money(-sum.minor()),
                });
            }
            JournalEntry {
                idempotency_key: format!("key-{key}"),
                reference: None,
                description: String::new(),
                legs,
            }
        })
}

proptest! {
    /// Whatever is posted, in whatever order and however often: every stored entry
    /// balances, the books sum to zero, internal money moves only through external accounts,
    /// and a key is applied at most once.
    #[test]
    fn the_books_always_balance(entries in prop::collection::vec(entry(), 1..60)) {
        let mut c = books();
        let mut applied: std::collections::HashMap<String, JournalEntry> = Default::default();
        for (t, e) in entries.iter().enumerate() {
            match post(&mut c, e, t as i64) {
                Ok(Posted::Posted(_)) => {
                    prop_assert!(!applied.contains_key(&e.idempotency_key));
                    applied.insert(e.idempotency_key.clone(), e.clone());
                }
                Ok(Posted::AlreadyPosted(_)) => {
                    prop_assert!(applied.contains_key(&e.idempotency_key));
                }
                Err(_) => {}
            }
        }
        let tb = trial_balance(&c).unwrap();
        prop_assert_eq!(tb.total, Money::ZERO);
        prop_assert_eq!(tb.internal.minor(), -tb.external.minor());
        prop_assert_eq!(tb.entries as usize, applied.len());
        // The internal total equals what the applied entries moved into internal accounts.
        let expected: i64 = applied
            .values()
            .flat_map(|e| &e.legs)
            .filter(|l| !classify(&l.account).unwrap().external)
            .map(|l| l.amount.minor())
            .sum();
        prop_assert_eq!(tb.internal.minor(), expected);
        let sum: i64 = balances(&c).unwrap().iter().map(|a| a.balance.minor()).sum();
        prop_assert_eq!(sum, 0);
    }
}
