//! The banks' records: transfers by channel and reference, and statement lines.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{BankStatus, StatementTamper, TransferKind, TransferRequest};
use crate::error::ServiceError;
use crate::money::Money;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS transfers (
    channel TEXT NOT NULL,
    reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    settled_ms INTEGER,
    PRIMARY KEY (channel, reference)
);
CREATE INDEX IF NOT EXISTS transfers_pending ON transfers(status) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS statement_lines (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    settled_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS statement_by_time ON statement_lines(channel, settled_ms);
";

/// A transfer as the bank holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The channel.
    pub channel: String,
    /// The payer's reference.
    pub reference: String,
    /// Which way.
    pub kind: TransferKind,
    /// How much.
    pub amount: Money,
    /// Where it is.
    pub status: BankStatus,
    /// Where results go.
    #[serde(skip)]
    pub callback_url: String,
    /// When it arrived.
    pub received_ms: i64,
    /// When it settled.
    pub settled_ms: Option<i64>,
}

/// Money the bank says it moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// The payer's reference.
    pub reference: String,
    /// Which way.
    pub kind: TransferKind,
    /// How much.
    pub amount: Money,
    /// When.
    pub settled_ms: i64,
}

fn transfer(r: &Row<'_>) -> rusqlite::Result<Transfer> {
    let kind: String = r.get(2)?;
    let status: String = r.get(4)?;
    Ok(Transfer {
        channel: r.get(0)?,
        reference: r.get(1)?,
        kind: TransferKind::parse(&kind).unwrap_or(TransferKind::Payout),
        amount: Money(r.get(3)?),
        status: BankStatus::parse(&status),
        callback_url: r.get(5)?,
        received_ms: r.get(6)?,
        settled_ms: r.get(7)?,
    })
}

const COLUMNS: &str =
    "channel, reference, kind, amount, status, callback_url, received_ms, settled_ms";

/// Records a transfer unless its reference is known; returns it and whether it is new.
pub(super) fn accept(
    conn: &mut Connection,
    channel: &str,
    req: &TransferRequest,
    now_ms: i64,
) -> Result<(Transfer, bool), ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO transfers (channel, reference, kind, account, amount, status, callback_url, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
        params![
            channel,
            req.reference,
            req.kind.as_str(),
            req.account,
            req.amount.minor(),
            req.callback_url,
            now_ms
        ],
    )?;
    let t = tx.query_row(
        &format!("SELECT {COLUMNS} FROM transfers WHERE channel = ?1 AND reference = ?2"),
        params![channel, req.reference],
        transfer,
    )?;
    tx.commit()?;
    Ok((t, inserted == 1))
}

/// Transfers accepted and not settled (resumed after a restart).
pub(super) fn pending(conn: &Connection) -> Result<Vec<Transfer>, ServiceError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM transfers WHERE status = 'pending'"
    ))?;
    let rows = stmt.query_map([], transfer)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Settles a pending transfer (a statement line if money moved); `None` if it was not
/// pending.
pub(super) fn settle(
    conn: &mut Connection,
    channel: &str,
    reference: &str,
    status: BankStatus,
    now_ms: i64,
) -> Result<Option<Transfer>, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx.execute(
        "UPDATE transfers SET status = ?3, settled_ms = ?4
         WHERE channel = ?1 AND reference = ?2 AND status = 'pending'",
        params![channel, reference, status.as_str(), now_ms],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    let t = tx.query_row(
        &format!("SELECT {COLUMNS} FROM transfers WHERE channel = ?1 AND reference = ?2"),
        params![channel, reference],
        transfer,
    )?;
    if status == BankStatus::Succeeded {
        tx.execute(
            "INSERT INTO statement_lines (channel, reference, kind, amount, settled_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                channel,
                reference,
                t.kind.as_str(),
                t.amount.minor(),
                now_ms
            ],
        )?;
    }
    tx.commit()?;
    Ok(Some(t))
}

/// The transfer with `reference`.
pub(super) fn find(
    conn: &Connection,
    channel: &str,
    reference: &str,
) -> Result<Option<Transfer>, ServiceError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM transfers WHERE channel = ?1 AND reference = ?2"),
            params![channel, reference],
            transfer,
        )
        .optional()?)
}

/// Statement lines settled in `[from_ms, to_ms)`, in order.
pub(super) fn statement(
    conn: &Connection,
    channel: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<StatementLine>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT reference, kind, amount, settled_ms FROM statement_lines
         WHERE channel = ?1 AND settled_ms >= ?2 AND settled_ms < ?3 ORDER BY settled_ms, id",
    )?;
    let rows = stmt.query_map(params![channel, from_ms, to_ms], |r| {
        let kind: String = r.get(1)?;
        Ok(StatementLine {
            reference: r.get(0)?,
            kind: TransferKind::parse(&kind).unwrap_or(TransferKind::Payout),
            amount: Money(r.get(2)?),
            settled_ms: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Applies a deliberate statement change; false when there is no line to change.
pub(super) fn tamper(
    conn: &Connection,
    channel: &str,
    reference: &str,
    change: &StatementTamper,
) -> Result<bool, ServiceError> {
    let changed = match change {
        StatementTamper::Duplicate => conn.execute(
            "INSERT INTO statement_lines (channel, reference, kind, amount, settled_ms)
             SELECT channel, reference, kind, amount, settled_ms FROM statement_lines
             WHERE channel = ?1 AND reference = ?2 ORDER BY id LIMIT 1",
            params![channel, reference],
        )?,
        StatementTamper::Alter { amount } => conn.execute(
            "UPDATE statement_lines SET amount = ?3 WHERE id =
             (SELECT id FROM statement_lines WHERE channel = ?1 AND reference = ?2 ORDER BY id LIMIT 1)",
            params![channel, reference, amount.minor()],
        )?,
    };
    Ok(changed > 0)
}
