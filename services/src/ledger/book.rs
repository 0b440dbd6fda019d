//! The books: journal entries whose legs sum to zero, posted once per idempotency key, and
//! the balances they add up to. Plain functions over a SQLite connection, each call one
//! transaction.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::accounts::classify;
use crate::error::ServiceError;
use crate::money::Money;

/// The ledger's tables.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    external INTEGER NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    reference TEXT,
    description TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    posted_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS legs (
    entry_id INTEGER NOT NULL REFERENCES entries(id),
    account TEXT NOT NULL REFERENCES accounts(name),
    amount INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS legs_by_account ON legs(account);
CREATE INDEX IF NOT EXISTS legs_by_entry ON legs(entry_id);
CREATE INDEX IF NOT EXISTS entries_by_reference ON entries(reference);
";

/// One side of an entry: a debit (positive) or credit (negative) to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    /// `<class>:<name>`, see [`super::accounts::CHART`].
    pub account: String,
    /// Minor units; debits positive, credits negative.
    pub amount: Money,
}

/// A request to post: legs that must sum to zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Posting twice with one key posts once.
    pub idempotency_key: String,
    /// What the entry is about (a payment id), for reconciliation.
    #[serde(default)]
    pub reference: Option<String>,
    /// Free text for people.
    pub description: String,
    /// At least two.
    pub legs: Vec<Leg>,
}

/// What a post did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "entry_id", rename_all = "snake_case")]
pub enum Posted {
    /// A new entry.
    Posted(i64),
    /// The key was posted before with the same legs: nothing changed.
    AlreadyPosted(i64),
}

impl JournalEntry {
    /// Every reason the entry cannot be posted, or the order-independent fingerprint used to
    /// tell a replay from a different entry under the same key.
    fn check(&self) -> Result<String, ServiceError> {
        let key = self.idempotency_key.trim();
        if key.is_empty() || key.len() > 200 {
            return Err(ServiceError::BadRequest(
                "idempotency_key: must be 1–200 characters".into(),
            ));
        }
        if self.legs.len() < 2 {
            return Err(ServiceError::BadRequest(format!(
                "legs: an entry needs at least two legs, got {}",
                self.legs.len()
            )));
        }
        let mut sum = Money::ZERO;
        for (i, leg) in self.legs.iter().enumerate() {
            classify(&leg.account)
                .map_err(|e| ServiceError::BadRequest(format!("legs[{i}].{e}")))?;
            if leg.amount == Money::ZERO {
                return Err(ServiceError::BadRequest(format!(
                    "legs[{i}].amount: must not be zero"
                )));
            }
            sum = sum
                .checked_add(leg.amount)
                .ok_or_else(|| ServiceError::BadRequest("legs: amounts overflow".into()))?;
        }
        if sum != Money::ZERO {
            return Err(ServiceError::BadRequest(format!(
                "legs: debits and credits must sum to zero, they sum to {sum}"
            )));
        }
        let mut legs: Vec<_> = self
            .legs
            .iter()
            .map(|l| format!("{}={}", l.account, l.amount.minor()))
            .collect();
        legs.sort();
        Ok(format!(
            "{}|{}",
            self.reference.as_deref().unwrap_or(""),
            legs.join(",")
        ))
    }
}

/// Posts `entry` at `now_ms` in one transaction.
pub fn post(
    conn: &mut Connection,
    entry: &JournalEntry,
    now_ms: i64,
) -> Result<Posted, ServiceError> {
    let fingerprint = entry.check()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, fingerprint FROM entries WHERE idempotency_key = ?1",
            [&entry.idempotency_key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, seen)) = existing {
        return if seen == fingerprint {
            Ok(Posted::AlreadyPosted(id))
        } else {
            Err(ServiceError::Conflict(format!(
                "idempotency_key {:?} was already posted (entry {id}) with different legs",
                entry.idempotency_key
            )))
        };
    }
    tx.execute(
        "INSERT INTO entries (idempotency_key, reference, description, fingerprint, posted_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            entry.idempotency_key,
            entry.reference,
            entry.description,
            fingerprint,
            now_ms
        ],
    )?;
    let id = tx.last_insert_rowid();
    for leg in &entry.legs {
        let external = classify(&leg.account)?.external;
        tx.execute(
            "INSERT INTO accounts (name, external, balance) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET balance = balance + excluded.balance",
            params![leg.account, external, leg.amount.minor()],
        )?;
        tx.execute(
            "INSERT INTO legs (entry_id, account, amount) VALUES (?1, ?2, ?3)",
            params![id, leg.account, leg.amount.minor()],
        )?;
    }
    tx.commit()?;
    Ok(Posted::Posted(id))
}

/// An account and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBalance {
    /// Its name.
    pub name: String,
    /// Whether it faces the outside world.
    pub external: bool,
    /// Debits minus credits, minor units.
    pub balance: Money,
}

/// Every account's balance, by name.
pub fn balances(conn: &Connection) -> Result<Vec<AccountBalance>, ServiceError> {
    let mut stmt =
        conn.prepare_cached("SELECT name, external, balance FROM accounts ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(AccountBalance {
            name: r.get(0)?,
            external: r.get(1)?,
            balance: Money(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The books' totals: `total` is zero when every entry balanced, and `internal` moves only
/// by flows through external accounts (`internal = −external`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialBalance {
    /// Sum of every balance; anything but zero is an imbalance.
    pub total: Money,
    /// Sum of the internal accounts.
    pub internal: Money,
    /// Sum of the external accounts.
    pub external: Money,
    /// Entries posted.
    pub entries: i64,
}

/// Sums the books, from the legs themselves rather than the running balances, so a balance
/// that drifted from its legs shows as a difference.
pub fn trial_balance(conn: &Connection) -> Result<TrialBalance, ServiceError> {
    let (internal, external): (i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(CASE WHEN a.external = 0 THEN l.amount END), 0),
                COALESCE(SUM(CASE WHEN a.external = 1 THEN l.amount END), 0)
         FROM legs l JOIN accounts a ON a.name = l.account",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let entries = conn.query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))?;
    let running: i64 =
        conn.query_row("SELECT COALESCE(SUM(balance), 0) FROM accounts", [], |r| {
            r.get(0)
        })?;
    // The running balances must agree with the legs; a disagreement is an imbalance too.
    let drift = running - (internal + external);
    Ok(TrialBalance {
        total: Money(internal + external + drift),
        internal: Money(internal),
        external: Money(external),
        entries,
    })
}

/// An entry as posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedEntry {
    /// Its id.
    pub id: i64,
    /// Its idempotency key.
    pub idempotency_key: String,
    /// What it is about.
    pub reference: Option<String>,
    /// Free text.
    pub description: String,
    /// Its legs.
    pub legs: Vec<Leg>,
    /// When it was posted.
    pub posted_ms: i64,
}

/// Entries about `reference`, oldest first.
pub fn entries_for(conn: &Connection, reference: &str) -> Result<Vec<PostedEntry>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, idempotency_key, reference, description, posted_ms FROM entries
         WHERE reference = ?1 ORDER BY id",
    )?;
    let heads: Vec<(i64, String, Option<String>, String, i64)> = stmt
        .query_map([reference], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut legs = conn.prepare_cached("SELECT account, amount FROM legs WHERE entry_id = ?1")?;
    heads
        .into_iter()
        .map(|(id, idempotency_key, reference, description, posted_ms)| {
            let legs = legs
                .query_map([id], |r| {
                    Ok(Leg {
                        account: r.get(0)?,
                        amount: Money(r.get(1)?),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(PostedEntry {
                id,
                idempotency_key,
                reference,
                description,
                legs,
                posted_ms,
            })
        })
        .collect()
}

/// What the books moved through external accounts for one reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReferenceFlow {
    /// Net amount through external accounts (a payout credits the bank: negative).
    pub external: Money,
    /// Entries posted about the reference.
    pub entries: i64,
}

/// The external flow of each of `references` that has entries.
pub fn flows_for(
    conn: &Connection,
    references: &[String],
) -> Result<Vec<(String, ReferenceFlow)>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT COUNT(DISTINCT e.id), COALESCE(SUM(CASE WHEN a.external = 1 THEN l.amount END), 0)
         FROM entries e JOIN legs l ON l.entry_id = e.id JOIN accounts a ON a.name = l.account
         WHERE e.reference = ?1",
    )?;
    let mut out = Vec::new();
    for reference in references {
        let (entries, external): (i64, i64) =
            stmt.query_row([reference], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if entries > 0 {
            out.push((
                reference.clone(),
                ReferenceFlow {
                    external: Money(external),
                    entries,
                },
            ));
        }
    }
    Ok(out)
}

/// The distinct references of entries posted in `[from_ms, to_ms)`.
pub fn references_posted(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<String>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT reference FROM entries
         WHERE reference IS NOT NULL AND posted_ms >= ?1 AND posted_ms < ?2",
    )?;
    let rows = stmt.query_map([from_ms, to_ms], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
