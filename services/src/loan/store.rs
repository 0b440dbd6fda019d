//! The loan book's records.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::model::{
    allocate, schedule, CreditLine, Drawdown, DrawdownRequest, DrawdownStatus, Installment,
};
use crate::error::ServiceError;
use crate::money::Money;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS credit_lines (
    customer TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    account TEXT NOT NULL,
    limit_amount INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    amount INTEGER NOT NULL,
    term INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    limit_amount INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drawdowns (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    partner TEXT NOT NULL,
    account TEXT NOT NULL,
    amount INTEGER NOT NULL,
    term INTEGER NOT NULL,
    status TEXT NOT NULL,
    payment_id TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS drawdowns_pending ON drawdowns(status, updated_ms) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS installments (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns(id),
    seq INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    principal INTEGER NOT NULL,
    interest INTEGER NOT NULL,
    paid INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (drawdown_id, seq)
);
CREATE INDEX IF NOT EXISTS installments_due ON installments(due_ms);
CREATE TABLE IF NOT EXISTS repayments (
    id TEXT PRIMARY KEY,
    drawdown_id TEXT NOT NULL REFERENCES drawdowns(id),
    amount INTEGER NOT NULL,
    interest INTEGER NOT NULL,
    status TEXT NOT NULL,
    payment_id TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS repayments_pending ON repayments(status, updated_ms) WHERE status = 'pending';
";

/// Records an application's outcome and, when approved, opens or raises the credit line.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_application(
    conn: &mut Connection,
    id: &str,
    customer: &str,
    amount: Money,
    term: u32,
    verdict: &str,
    line: Option<(&str, &str, Money)>,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO applications (id, customer, amount, term, verdict, limit_amount, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            customer,
            amount.minor(),
            term,
            verdict,
            line.map_or(0, |l| l.2.minor()),
            now_ms
        ],
    )?;
    if let Some((partner, account, limit)) = line {
        tx.execute(
            "INSERT INTO credit_lines (customer, partner, account, limit_amount, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(customer) DO UPDATE SET limit_amount = MAX(limit_amount, excluded.limit_amount),
                 updated_ms = excluded.updated_ms",
            params![customer, partner, account, limit.minor(), now_ms],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The customer's credit line.
pub(super) fn line(conn: &Connection, customer: &str) -> Result<Option<CreditLine>, ServiceError> {
    Ok(conn
        .query_row(
            "SELECT customer, partner, account, limit_amount, used FROM credit_lines WHERE customer = ?1",
            [customer],
            |r| {
                Ok(CreditLine {
                    customer: r.get(0)?,
                    partner: r.get(1)?,
                    account: r.get(2)?,
                    limit: Money(r.get(3)?),
                    used: Money(r.get(4)?),
                })
            },
        )
        .optional()?)
}

/// Takes `req.amount` from the customer's line and records a pending drawdown.
pub(super) fn reserve_drawdown(
    conn: &mut Connection,
    id: &str,
    req: &DrawdownRequest,
    now_ms: i64,
) -> Result<Drawdown, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let line = line(&tx, &req.customer)?.ok_or_else(|| {
        ServiceError::BadRequest(format!(
            "customer: {} has no credit line; apply first",
            req.customer
        ))
    })?;
    let available = Money(line.limit.minor() - line.used.minor());
    if req.amount > available {
        return Err(ServiceError::BadRequest(format!(
            "amount: {} exceeds the {available} available on the credit line",
            req.amount
        )));
    }
    tx.execute(
        "UPDATE credit_lines SET used = used + ?2, updated_ms = ?3 WHERE customer = ?1",
        params![req.customer, req.amount.minor(), now_ms],
    )?;
    tx.execute(
        "INSERT INTO drawdowns (id, customer, partner, account, amount, term, status, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
        params![id, req.customer, line.partner, line.account, req.amount.minor(), req.term, now_ms],
    )?;
    let d = drawdown(&tx, id)?.ok_or_else(|| ServiceError::Internal("drawdown vanished".into()))?;
    tx.commit()?;
    Ok(d)
}

/// The drawdown `id` with what it still owes.
pub(super) fn drawdown(conn: &Connection, id: &str) -> Result<Option<Drawdown>, ServiceError> {
    let found = conn
        .query_row(
            "SELECT id, customer, partner, account, amount, term, status, payment_id FROM drawdowns WHERE id = ?1",
            [id],
            |r| {
                let status: String = r.get(6)?;
                Ok(Drawdown {
                    id: r.get(0)?,
                    customer: r.get(1)?,
                    partner: r.get(2)?,
                    account: r.get(3)?,
                    amount: Money(r.get(4)?),
                    term: r.get(5)?,
                    status: match status.as_str() {
                        "disbursed" => DrawdownStatus::Disbursed,
                        "failed" => DrawdownStatus::Failed,
                        _ => DrawdownStatus::Pending,
                    },
                    payment_id: r.get(7)?,
                    outstanding: Money::ZERO,
                })
            },
        )
        .optional()?;
    let Some(mut d) = found else {
        return Ok(None);
    };
    d.outstanding = installments(conn, id)?
        .iter()
        .map(|i| Money(i.principal.minor() + i.interest.minor() - i.paid.minor()))
        .sum();
    Ok(Some(d))
}

/// The drawdown's schedule.
pub(super) fn installments(
    conn: &Connection,
    drawdown_id: &str,
) -> Result<Vec<Installment>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, due_ms, principal, interest, paid FROM installments WHERE drawdown_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([drawdown_id], |r| {
        Ok(Installment {
            seq: r.get(0)?,
            due_ms: r.get(1)?,
            principal: Money(r.get(2)?),
            interest: Money(r.get(3)?),
            paid: Money(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Notes the payment paying a drawdown out.
pub(super) fn set_payment(
    conn: &Connection,
    table: Table,
    id: &str,
    payment_id: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    conn.execute(
        &format!(
            "UPDATE {} SET payment_id = ?2, updated_ms = ?3 WHERE id = ?1",
            table.name()
        ),
        params![id, payment_id, now_ms],
    )?;
    Ok(())
}

/// The tables holding requests that wait for a payment.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Drawdowns,
    Repayments,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Drawdowns => "drawdowns",
            Self::Repayments => "repayments",
        }
    }
}

/// What a payment notice did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NoticeOutcome {
    /// The book changed.
    Applied,
    /// Already applied; nothing changed.
    AlreadyApplied,
}

/// A pay-out succeeded: the drawdown runs its schedule from `now_ms`.
pub(super) fn disbursed(
    conn: &mut Connection,
    id: &str,
    now_ms: i64,
    every_ms: i64,
) -> Result<NoticeOutcome, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let d =
        drawdown(&tx, id)?.ok_or_else(|| ServiceError::NotFound(format!("no drawdown {id:?}")))?;
    match d.status {
        DrawdownStatus::Disbursed => return Ok(NoticeOutcome::AlreadyApplied),
        DrawdownStatus::Failed => {
            return Err(ServiceError::Conflict(format!(
                "drawdown {id} was already failed and its line released"
            )))
        }
        DrawdownStatus::Pending => {}
    }
    tx.execute(
        "UPDATE drawdowns SET status = 'disbursed', updated_ms = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    for i in schedule(d.amount, d.term, now_ms, every_ms) {
        tx.execute(
            "INSERT INTO installments (drawdown_id, seq, due_ms, principal, interest) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, i.seq, i.due_ms, i.principal.minor(), i.interest.minor()],
        )?;
    }
    tx.commit()?;
    Ok(NoticeOutcome::Applied)
}

/// A pay-out failed: the drawdown fails and its amount returns to the line.
pub(super) fn drawdown_failed(
    conn: &mut Connection,
    id: &str,
    now_ms: i64,
) -> Result<NoticeOutcome, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let d =
        drawdown(&tx, id)?.ok_or_else(|| ServiceError::NotFound(format!("no drawdown {id:?}")))?;
    match d.status {
        DrawdownStatus::Failed => return Ok(NoticeOutcome::AlreadyApplied),
        DrawdownStatus::Disbursed => {
            return Err(ServiceError::Conflict(format!(
                "drawdown {id} was already disbursed"
            )))
        }
        DrawdownStatus::Pending => {}
    }
    tx.execute(
        "UPDATE drawdowns SET status = 'failed', updated_ms = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    tx.execute(
        "UPDATE credit_lines SET used = MAX(used - ?2, 0), updated_ms = ?3 WHERE customer = ?1",
        params![d.customer, d.amount.minor(), now_ms],
    )?;
    tx.commit()?;
    Ok(NoticeOutcome::Applied)
}

/// Records a pending repayment of `amount` (of which `interest`).
pub(super) fn insert_repayment(
    conn: &Connection,
    id: &str,
    drawdown_id: &str,
    amount: Money,
    interest: Money,
    now_ms: i64,
) -> Result<(), ServiceError> {
    conn.execute(
        "INSERT INTO repayments (id, drawdown_id, amount, interest, status, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
        params![id, drawdown_id, amount.minor(), interest.minor(), now_ms],
    )?;
    Ok(())
}

/// A collection succeeded: the money goes to the installments, interest first, and the
/// principal back to the line. A conflict when the drawdown no longer owes that much (it
/// was repaid meanwhile): the payment service then refunds.
pub(super) fn repayment_paid(
    conn: &mut Connection,
    id: &str,
    now_ms: i64,
) -> Result<NoticeOutcome, ServiceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (drawdown_id, amount, status): (String, i64, String) = tx
        .query_row(
            "SELECT drawdown_id, amount, status FROM repayments WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| ServiceError::NotFound(format!("no repayment {id:?}")))?;
    match status.as_str() {
        "paid" => return Ok(NoticeOutcome::AlreadyApplied),
        "refused" => {
            return Err(ServiceError::Conflict(format!(
                "repayment {id} was refused: the drawdown no longer owed it"
            )))
        }
        _ => {}
    }
    let d = drawdown(&tx, &drawdown_id)?
        .ok_or_else(|| ServiceError::Internal(format!("repayment {id} has no drawdown")))?;
    if Money(amount) > d.outstanding {
        tx.execute(
            "UPDATE repayments SET status = 'refused', updated_ms = ?2 WHERE id = ?1",
            params![id, now_ms],
        )?;
        tx.commit()?;
        return Err(ServiceError::Conflict(format!(
            "repayment {id} of {} exceeds the {} drawdown {drawdown_id} still owes",
            Money(amount),
            d.outstanding
        )));
    }
    let schedule = installments(&tx, &drawdown_id)?;
    let (_, principal) = allocate(&schedule, Money(amount));
    let mut left = amount;
    for i in &schedule {
        let owed = i.principal.minor() + i.interest.minor() - i.paid.minor();
        let take = left.min(owed.max(0));
        if take > 0 {
            tx.execute(
                "UPDATE installments SET paid = paid + ?3 WHERE drawdown_id = ?1 AND seq = ?2",
                params![drawdown_id, i.seq, take],
            )?;
            left -= take;
        }
        if left == 0 {
            break;
        }
    }
    tx.execute(
        "UPDATE repayments SET status = 'paid', updated_ms = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    tx.execute(
        "UPDATE credit_lines SET used = MAX(used - ?2, 0), updated_ms = ?3 WHERE customer = ?1",
        params![d.customer, principal.minor(), now_ms],
    )?;
    tx.commit()?;
    Ok(NoticeOutcome::Applied)
}

/// A collection failed.
pub(super) fn repayment_failed(
    conn: &Connection,
    id: &str,
    now_ms: i64,
) -> Result<NoticeOutcome, ServiceError> {
    let changed = conn.execute(
        "UPDATE repayments SET status = 'failed', updated_ms = ?2 WHERE id = ?1 AND status = 'pending'",
        params![id, now_ms],
    )?;
    Ok(if changed > 0 {
        NoticeOutcome::Applied
    } else {
        NoticeOutcome::AlreadyApplied
    })
}

/// Drawdown and repayment ids still waiting for their payment since before `before_ms`.
pub(super) fn waiting(
    conn: &Connection,
    before_ms: i64,
    limit: usize,
) -> Result<Vec<(Table, String)>, ServiceError> {
    let mut out = Vec::new();
    for table in [Table::Drawdowns, Table::Repayments] {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id FROM {} WHERE status = 'pending' AND updated_ms < ?1 ORDER BY updated_ms LIMIT ?2",
            table.name()
        ))?;
        let ids = stmt.query_map(params![before_ms, limit as i64], |r| r.get::<_, String>(0))?;
        for id in ids {
            out.push((table, id?));
        }
    }
    Ok(out)
}

/// Marks a waiting request as looked at now.
pub(super) fn touch(
    conn: &Connection,
    table: Table,
    id: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    conn.execute(
        &format!("UPDATE {} SET updated_ms = ?2 WHERE id = ?1", table.name()),
        params![id, now_ms],
    )?;
    Ok(())
}

/// A pending repayment's drawdown, amount and interest.
pub(super) fn repayment(
    conn: &Connection,
    id: &str,
) -> Result<Option<(String, Money, Money)>, ServiceError> {
    Ok(conn
        .query_row(
            "SELECT drawdown_id, amount, interest FROM repayments WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, Money(r.get(1)?), Money(r.get(2)?))),
        )
        .optional()?)
}

/// Money past its due date and not paid, and money owed in all.
pub(super) fn book_totals(conn: &Connection, now_ms: i64) -> Result<(Money, Money), ServiceError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(CASE WHEN due_ms < ?1 THEN principal + interest - paid END), 0),
                COALESCE(SUM(principal + interest - paid), 0)
         FROM installments WHERE paid < principal + interest",
        [now_ms],
        |r| Ok((Money(r.get(0)?), Money(r.get(1)?))),
    )?)
}

/// Drawdowns of `customer` that still owe money, oldest first.
pub(super) fn owing(conn: &Connection, customer: &str) -> Result<Vec<String>, ServiceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT d.id FROM drawdowns d JOIN installments i ON i.drawdown_id = d.id
         WHERE d.customer = ?1 AND i.paid < i.principal + i.interest ORDER BY d.created_ms",
    )?;
    let rows = stmt.query_map([customer], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
