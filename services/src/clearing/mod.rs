//! `clearing`: end-of-period clearing and settlement. For each period, the money each bank
//! channel moved for each funding partner: pay-outs, collections and the net amount to
//! settle, computed once per period from the final payments and kept.

mod api;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use taishan_core::Clock;
use tokio_util::sync::CancellationToken;

pub use api::router;

use crate::bank::TransferKind;
use crate::db::Database;
use crate::error::ServiceError;
use crate::loan::upstream;
use crate::money::Money;
use crate::payment::{fetch_payments, Payment};
use crate::telemetry::{ServiceTelemetry, TracedClient};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settlements (
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (from_ms, to_ms)
);
";

/// Money one way through one channel for one partner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Transfers.
    pub count: u64,
    /// Their money.
    pub amount: Money,
}

/// What one channel owes or is owed for one partner over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementLine {
    /// The bank channel.
    pub channel: String,
    /// The funding partner.
    pub partner: String,
    /// Money paid out to customers (disbursements and refunds).
    pub payouts: Flow,
    /// Money collected from customers.
    pub collections: Flow,
    /// Collections minus pay-outs: positive, the channel owes the partner.
    pub net: Money,
}

/// A period's clearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Payments final from.
    pub from_ms: i64,
    /// Payments final before.
    pub to_ms: i64,
    /// Per channel and partner.
    pub lines: Vec<SettlementLine>,
}

/// Groups succeeded payments by channel and partner.
pub fn clear(from_ms: i64, to_ms: i64, payments: &[Payment]) -> Settlement {
    let mut lines: BTreeMap<(String, String), SettlementLine> = BTreeMap::new();
    for p in payments {
        let Some(channel) = &p.channel else { continue };
        let line = lines
            .entry((channel.clone(), p.request.partner.clone()))
            .or_insert_with(|| SettlementLine {
                channel: channel.clone(),
                partner: p.request.partner.clone(),
                payouts: Flow::default(),
                collections: Flow::default(),
                net: Money::ZERO,
            });
        let flow = match p.request.purpose.transfer_kind() {
            TransferKind::Payout => &mut line.payouts,
            TransferKind::Collection => &mut line.collections,
        };
        flow.count += 1;
        flow.amount = Money(flow.amount.minor() + p.request.amount.minor());
        line.net = Money(line.collections.amount.minor() - line.payouts.amount.minor());
    }
    Settlement {
        from_ms,
        to_ms,
        lines: lines.into_values().collect(),
    }
}

/// The clearing service's state.
#[derive(Debug)]
pub struct Clearing {
    db: Database,
    telemetry: Arc<ServiceTelemetry>,
    client: TracedClient,
    clock: Arc<dyn Clock>,
    payment_url: String,
    period: Duration,
    settled: Counter<f64>,
}

impl Clearing {
    /// Opens the settlements in `dir/clearing.db`; scheduled runs clear each `period`.
    pub fn open(
        dir: &Path,
        payment_url: String,
        period: Duration,
        telemetry: Arc<ServiceTelemetry>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ServiceError> {
        let db = Database::open(&dir.join("clearing.db"), "clearing-db", SCHEMA)?;
        let settled = telemetry
            .meter()
            .f64_counter("clearing.settled.amount")
            .with_description("Money cleared in major units, by channel, partner and direction")
            .build();
        Ok(Arc::new(Self {
            db,
            client: TracedClient::new(telemetry.clone(), Duration::from_secs(30)),
            telemetry,
            clock,
            payment_url,
            period: period.max(Duration::from_secs(1)),
            settled,
        }))
    }

    /// The service's telemetry.
    pub fn telemetry(&self) -> &Arc<ServiceTelemetry> {
        &self.telemetry
    }

    /// Clears the payments final in `[from_ms, to_ms)`; a period cleared before is returned
    /// as it was (settlement happens once).
    pub async fn run(
        &self,
        cx: &Context,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Settlement, ServiceError> {
        if from_ms >= to_ms {
            return Err(ServiceError::BadRequest(
                "from_ms: must be before to_ms".into(),
            ));
        }
        if let Some(done) = self.find(from_ms, to_ms)? {
            return Ok(done);
        }
        let payments = fetch_payments(
            &self.client,
            cx,
            &self.payment_url,
            &format!("final_from_ms={from_ms}&final_to_ms={to_ms}&status=succeeded"),
        )
        .await
        .map_err(upstream)?;
        let settlement = clear(from_ms, to_ms, &payments);
        let body = serde_json::to_string(&settlement)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.clock.now_ms();
        let inserted = self
            .db
            .run(&self.telemetry, cx, "store settlement", move |c| {
                Ok(c.execute(
                    "INSERT OR IGNORE INTO settlements (from_ms, to_ms, created_ms, body) VALUES (?1, ?2, ?3, ?4)",
                    params![from_ms, to_ms, now, body],
                )?)
            })
            .await?;
        if inserted == 0 {
            // Another run settled the period meanwhile: its result stands.
            return self
                .find(from_ms, to_ms)?
                .ok_or_else(|| ServiceError::Internal("settlement vanished".into()));
        }
        for line in &settlement.lines {
            for (direction, flow) in [("payout", line.payouts), ("collection", line.collections)] {
                self.settled.add(
                    flow.amount.major(),
                    &[
                        KeyValue::new("channel", line.channel.clone()),
                        KeyValue::new("partner", line.partner.clone()),
                        KeyValue::new("direction", direction),
                    ],
                );
            }
        }
        self.telemetry.log(
            cx,
            Severity::Info,
            format!(
                "cleared {} payments into {} settlement lines",
                payments.len(),
                settlement.lines.len()
            ),
            [
                KeyValue::new("clearing.from_ms", from_ms),
                KeyValue::new("clearing.to_ms", to_ms),
            ],
        );
        Ok(settlement)
    }

    /// The stored settlement of a period.
    pub fn find(&self, from_ms: i64, to_ms: i64) -> Result<Option<Settlement>, ServiceError> {
        let body: Option<String> = self.db.read(|c| {
            c.query_row(
                "SELECT body FROM settlements WHERE from_ms = ?1 AND to_ms = ?2",
                params![from_ms, to_ms],
                |r| r.get(0),
            )
            .optional()
        })?;
        body.map(|b| {
            serde_json::from_str(&b)
                .map_err(|e| ServiceError::Internal(format!("stored settlement: {e}")))
        })
        .transpose()
    }

    /// Clears each finished period until cancelled.
    pub async fn run_scheduled(self: Arc<Self>, cancel: CancellationToken) {
        let period = self.period.as_millis() as i64;
        loop {
            let now = self.clock.now_ms();
            let next = (now / period + 1) * period;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis((next - now).max(0) as u64 + 1_000)) => {}
            }
            let to = (self.clock.now_ms() / period) * period;
            let tracer = self.telemetry.tracer();
            let cx = Context::new().with_span(tracer.start("scheduled clearing"));
            if let Err(e) = self.run(&cx, to - period, to).await {
                tracing::warn!(error = %e, "scheduled clearing failed");
            }
            cx.span().end();
        }
    }
}
