//! The payment service's records: payments, and the outbox of follow-up work each final
//! payment owes (its ledger posting, the caller's notification), committed together.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::model::{Payment, PaymentRequest, PaymentStatus, Purpose};
use crate::bank::BankStatus;
use crate::error::ServiceError;
use crate::money::Money;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    customer TEXT NOT NULL,
    account TEXT NOT NULL,
    partner TEXT NOT NULL,
    amount INTEGER NOT NULL,
    interest INTEGER NOT NULL,
    notify_url TEXT,
    status TEXT NOT NULL,
    channel TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    final_ms INTEGER
);
CREATE INDEX IF NOT EXISTS payments_open ON payments(status, updated_ms)
    WHERE status IN ('pending', 'submitted', 'unknown');
CREATE INDEX IF NOT EXISTS payments_created ON payments(created_ms);
CREATE INDEX IF NOT EXISTS payments_final ON payments(final_ms);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    action TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT,
    dead INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    UNIQUE (payment_id, action)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(dead, next_attempt_ms);
";

const COLUMNS: &str =
    "id, idempotency_key, purpose, customer, account, partner, amount, interest, \
     notify_url, status, channel, attempts, reason, created_ms, updated_ms, final_ms";

fn payment(r: &Row<'_>) -> rusqlite::Result<Payment> {
    let purpose: String = r.get(2)?;
    let status: String = r.get(9)?;
    let bad = |what: &str, v: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {what} {v:?}").into(),
        )
    };
    Ok(Payment {
        id: r.get(0)?,
        request: PaymentRequest {
            idempotency_key: r.get(1)?,
            purpose: Purpose::parse(&purpose).ok_or_else(|| bad("purpose", &purpose))?,
            customer: r.get(3)?,
            account: r.get(4)?,
            partner: r.get(5)?,
            amount: Money(r.get(6)?),
            interest: Money(r.get(7)?),
            notify_url: r.get(8)?,
        },
        status: PaymentStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        channel: r.get(10)?,
        attempts: r.get(11)?,
        reason: r.get(12)?,
        created_ms: r.get(13)?,
        updated_ms: r.get(14)?,
        final_ms: r.get(15)?,
    })
}

fn get_in(tx: &Connection, id: &str) -> Result<Option<Payment>, ServiceError> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM payments WHERE id = ?1"),
            [id],
            payment,
        )
        .optional()?)
}

/// The payment `id`.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Payment>, ServiceError> {
    get_in(conn, id)
}

/// Records a new payment under `id`, or returns the one its idempotency key already made
/// (a conflict if that one was asked with other details). `true` when new.
pub(crate) fn insert_or_get(
    conn: &mut Connection,
    id: &str,
    req: &PaymentRequest,
    now_ms: i64,
) -> Result<(Payment, bool), ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM payments WHERE idempotency_key = ?1"),
            [&req.idempotency_key],
            payment,
        )
        .optional()?;
    if let Some(p) = existing {
        return if &p.request == req {
            Ok((p, false))
        } else {
            Err(ServiceError::Conflict(format!(
                "idempotency_key {:?} was used for payment {} with different details",
                req.idempotency_key, p.id
            )))
        };
    }
    tx.execute(
        "INSERT INTO payments (id, idempotency_key, purpose, customer, account, partner, amount,
             interest, notify_url, status, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?10)",
        params![
            id,
            req.idempotency_key,
            req.purpose.as_str(),
            req.customer,
            req.account,
            req.partner,
            req.amount.minor(),
            req.interest.minor(),
            req.notify_url,
            now_ms
        ],
    )?;
    let p = get_in(&tx, id)?.ok_or_else(|| ServiceError::Internal("payment vanished".into()))?;
    tx.commit()?;
    Ok((p, true))
}

/// Records a submission to `channel` that was accepted (`Submitted`) or not answered
/// (`Unknown`). Only an open payment changes.
pub(crate) fn record_submission(
    conn: &mut Connection,
    id: &str,
    channel: &str,
    status: PaymentStatus,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<Option<Payment>, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE payments SET status = ?2, channel = ?3, attempts = attempts + 1, reason = ?4,
             updated_ms = ?5
         WHERE id = ?1 AND status IN ('pending', 'submitted', 'unknown')",
        params![id, status.as_str(), channel, reason, now_ms],
    )?;
    let p = get_in(&tx, id)?;
    tx.commit()?;
    Ok(p)
}

/// Marks an open payment failed without any channel having it (every channel refused),
/// with its notification queued.
pub(crate) fn fail_unsent(
    conn: &mut Connection,
    id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Option<Payment>, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(p) = get_in(&tx, id)? else {
        return Ok(None);
    };
    if p.status.is_final() {
        return Ok(Some(p));
    }
    finish(&tx, &p, PaymentStatus::Failed, Some(reason), now_ms)?;
    let p = get_in(&tx, id)?;
    tx.commit()?;
    Ok(p)
}

/// What a bank result did to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultOutcome {
    /// The payment became final.
    Applied,
    /// It was already final with this result (a duplicate callback).
    Duplicate,
    /// The bank has not settled yet.
    StillPending,
}

/// Applies a bank's result for payment `id` from `channel`, making it final and queueing its
/// follow-up work in the same transaction. A result that contradicts the record (another
/// channel, another amount, the opposite final status) is refused and left for
/// reconciliation to report.
pub(crate) fn apply_result(
    conn: &mut Connection,
    id: &str,
    channel: &str,
    status: BankStatus,
    amount: Money,
    now_ms: i64,
) -> Result<(Payment, ResultOutcome), ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let p = get_in(&tx, id)?.ok_or_else(|| ServiceError::NotFound(format!("no payment {id:?}")))?;
    if p.channel.as_deref() != Some(channel) {
        return Err(ServiceError::Conflict(format!(
            "payment {id} was sent to {}, not {channel}",
            p.channel.as_deref().unwrap_or("no channel")
        )));
    }
    if amount != p.request.amount {
        return Err(ServiceError::Conflict(format!(
            "{channel} reports {amount} for payment {id} of {}",
            p.request.amount
        )));
    }
    let target = match status {
        BankStatus::Pending => return Ok((p, ResultOutcome::StillPending)),
        BankStatus::Succeeded => PaymentStatus::Succeeded,
        BankStatus::Failed => PaymentStatus::Failed,
    };
    if p.status.is_final() {
        return if p.status == target {
            Ok((p, ResultOutcome::Duplicate))
        } else {
            Err(ServiceError::Conflict(format!(
                "payment {id} is {}, {channel} now reports {}",
                p.status.as_str(),
                status.as_str()
            )))
        };
    }
    let reason =
        (target == PaymentStatus::Failed).then(|| format!("{channel} refused the transfer"));
    finish(&tx, &p, target, reason.as_deref(), now_ms)?;
    let p = get_in(&tx, id)?.ok_or_else(|| ServiceError::Internal("payment vanished".into()))?;
    tx.commit()?;
    Ok((p, ResultOutcome::Applied))
}

fn finish(
    tx: &Transaction<'_>,
    p: &Payment,
    status: PaymentStatus,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<(), ServiceError> {
    tx.execute(
        "UPDATE payments SET status = ?2, reason = COALESCE(?3, reason), updated_ms = ?4, final_ms = ?4
         WHERE id = ?1",
        params![p.id, status.as_str(), reason, now_ms],
    )?;
    let queue = |action: OutboxAction| {
        tx.execute(
            "INSERT OR IGNORE INTO outbox (payment_id, action, next_attempt_ms, created_ms)
             VALUES (?1, ?2, ?3, ?3)",
            params![p.id, action.as_str(), now_ms],
        )
    };
    if status == PaymentStatus::Succeeded {
        queue(OutboxAction::PostLedger)?;
    }
    if p.request.notify_url.is_some() {
        queue(OutboxAction::Notify)?;
    }
    Ok(())
}

/// Follow-up work a final payment owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxAction {
    /// Post its journal entry to the ledger.
    PostLedger,
    /// Tell whoever asked for it (the loan service) how it ended.
    Notify,
}

impl OutboxAction {
    /// The name in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostLedger => "post_ledger",
            Self::Notify => "notify",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "notify" {
            Self::Notify
        } else {
            Self::PostLedger
        }
    }
}

/// One piece of owed work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Its id.
    pub id: i64,
    /// The payment it is for.
    pub payment_id: String,
    /// What to do.
    pub action: OutboxAction,
    /// Tries so far.
    pub attempts: i64,
    /// The last try's error.
    pub last_error: Option<String>,
    /// Whether it was given up on (the dead-letter list).
    pub dead: bool,
}

fn outbox_item(r: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    let action: String = r.get(2)?;
    Ok(OutboxItem {
        id: r.get(0)?,
        payment_id: r.get(1)?,
        action: OutboxAction::parse(&action),
        attempts: r.get(3)?,
        last_error: r.get(4)?,
        dead: r.get(5)?,
    })
}

/// Work due at `now_ms`, oldest first.
pub(crate) fn outbox_due(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<OutboxItem>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, payment_id, action, attempts, last_error, dead FROM outbox
         WHERE dead = 0 AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now_ms, limit as i64], outbox_item)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Dead letters, oldest first.
pub(crate) fn dead_letters(conn: &Connection) -> Result<Vec<OutboxItem>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, payment_id, action, attempts, last_error, dead FROM outbox
         WHERE dead = 1 ORDER BY id",
    )?;
    let rows = stmt.query_map([], outbox_item)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes work that is done.
pub(crate) fn outbox_done(conn: &Connection, id: i64) -> Result<(), ServiceError> {
    conn.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// Records a failed try: retried at `next_ms`, or dead-lettered when `dead`.
pub(crate) fn outbox_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    next_ms: i64,
    dead: bool,
) -> Result<(), ServiceError> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3, dead = ?4
         WHERE id = ?1",
        params![id, error, next_ms, dead],
    )?;
    Ok(())
}

/// Puts item `id` off until `next_ms` without spending a try (its call was never made).
pub(crate) fn outbox_later(conn: &Connection, id: i64, next_ms: i64) -> Result<(), ServiceError> {
    conn.execute(
        "UPDATE outbox SET next_attempt_ms = ?2 WHERE id = ?1",
        params![id, next_ms],
    )?;
    Ok(())
}

/// Puts a dead letter back in the queue (an operator's retry); false if there is none.
pub(crate) fn revive(conn: &Connection, id: i64, now_ms: i64) -> Result<bool, ServiceError> {
    Ok(conn.execute(
        "UPDATE outbox SET dead = 0, attempts = 0, next_attempt_ms = ?2 WHERE id = ?1 AND dead = 1",
        params![id, now_ms],
    )? > 0)
}

/// Open payments not touched since `before_ms`, oldest first.
pub(crate) fn stuck(
    conn: &Connection,
    before_ms: i64,
    limit: usize,
) -> Result<Vec<Payment>, ServiceError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments
         WHERE status IN ('pending', 'submitted', 'unknown') AND updated_ms < ?1
         ORDER BY updated_ms LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![before_ms, limit as i64], payment)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks an open payment as looked at, so the next sweep waits before trying it again.
pub(crate) fn touch(
    conn: &Connection,
    id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    conn.execute(
        "UPDATE payments SET updated_ms = ?2, reason = ?3
         WHERE id = ?1 AND status IN ('pending', 'submitted', 'unknown')",
        params![id, now_ms, reason],
    )?;
    Ok(())
}

/// Which payments a listing wants.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentFilter {
    /// Created at or after.
    pub created_from_ms: Option<i64>,
    /// Created before.
    pub created_to_ms: Option<i64>,
    /// Final at or after.
    pub final_from_ms: Option<i64>,
    /// Final before.
    pub final_to_ms: Option<i64>,
    /// Only this status.
    pub status: Option<PaymentStatus>,
    /// At most this many (default and maximum 50 000).
    pub limit: Option<usize>,
}

/// The most payments one listing returns.
pub const MAX_LISTED: usize = 50_000;

/// Payments matching `f`, oldest first.
pub(crate) fn list(conn: &Connection, f: &PaymentFilter) -> Result<Vec<Payment>, ServiceError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments
         WHERE created_ms >= ?1 AND created_ms < ?2
           AND (?3 IS NULL OR (final_ms >= ?3 AND final_ms < ?4))
           AND (?5 IS NULL OR status = ?5)
         ORDER BY created_ms, id LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            f.created_from_ms.unwrap_or(i64::MIN),
            f.created_to_ms.unwrap_or(i64::MAX),
            f.final_from_ms,
            f.final_to_ms.unwrap_or(i64::MAX),
            f.status.map(|s| s.as_str()),
            f.limit.unwrap_or(MAX_LISTED).min(MAX_LISTED) as i64
        ],
        payment,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Money and payments not final yet, by purpose.
pub(crate) fn in_flight(conn: &Connection) -> Result<Vec<(String, i64, Money)>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT purpose, COUNT(*), COALESCE(SUM(amount), 0) FROM payments
         WHERE status IN ('pending', 'submitted', 'unknown') GROUP BY purpose",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, Money(r.get(2)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Per channel, the payments sent to it and still open since before `before_ms`.
pub(crate) fn overdue(
    conn: &Connection,
    before_ms: i64,
) -> Result<Vec<(String, i64)>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, COUNT(*) FROM payments
         WHERE status IN ('submitted', 'unknown') AND channel IS NOT NULL AND updated_ms < ?1
         GROUP BY channel",
    )?;
    let rows = stmt.query_map([before_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Work owed for the payments created in `[from_ms, to_ms)`, and every dead letter.
pub(crate) fn outbox_counts_between(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<(i64, i64), ServiceError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(o.dead = 0 AND p.created_ms >= ?1 AND p.created_ms < ?2), 0),
                COALESCE(SUM(o.dead = 1), 0)
         FROM outbox o JOIN payments p ON p.id = o.payment_id",
        params![from_ms, to_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Work owed (`dead = false`) and given up on (`dead = true`).
pub(crate) fn outbox_counts(conn: &Connection) -> Result<(i64, i64), ServiceError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(dead = 0), 0), COALESCE(SUM(dead = 1), 0) FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
