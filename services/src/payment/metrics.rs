//! The payment service's instruments: attempts, results and their money, callbacks, the
//! submissions left unanswered, results learnt by asking, time to final, and the gauges of
//! money in flight and payments overdue.

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::KeyValue;
use std::sync::Arc;
use taishan_core::Clock;

use super::store;
use crate::db::Database;

/// A payment sent to a channel and still open after this long is overdue: the demo's banks
/// answer in tens of milliseconds and call back within a second.
pub(crate) const OVERDUE_AFTER_MS: i64 = 5_000;

#[derive(Debug)]
pub(crate) struct PaymentMetrics {
    pub(crate) attempts: Counter<u64>,
    pub(crate) results: Counter<u64>,
    pub(crate) amount: Counter<f64>,
    pub(crate) callbacks: Counter<u64>,
    pub(crate) unanswered: Counter<u64>,
    pub(crate) queried: Counter<u64>,
    pub(crate) time_to_final: Histogram<f64>,
}

impl PaymentMetrics {
    /// The instruments on `meter`, every channel's series at zero, and the gauges read from
    /// `db` at each export.
    pub(crate) fn new(
        meter: &Meter,
        db: &Database,
        channels: &[(String, u32)],
        clock: Arc<dyn Clock>,
    ) -> Self {
        let metrics = PaymentMetrics {
            attempts: meter
                .u64_counter("payment.attempts")
                .with_description("Submissions to a bank channel, by channel and type")
                .build(),
            results: meter
                .u64_counter("payment.results")
                .with_description("Payments that became final, by channel, type and status")
                .build(),
            amount: meter
                .f64_counter("payment.amount")
                .with_description(
                    "Money of final payments in major units, by channel, type and status",
                )
                .build(),
            callbacks: meter
                .u64_counter("payment.callbacks")
                .with_description("Bank result callbacks, by channel and outcome")
                .build(),
            unanswered: meter
                .u64_counter("payment.unanswered")
                .with_description(
                    "Submissions a bank channel did not answer (timed out, cut): the payment waits in doubt, by channel",
                )
                .build(),
            queried: meter
                .u64_counter("payment.queried")
                .with_description(
                    "Bank results learnt by asking the bank because no callback came, by channel and outcome",
                )
                .build(),
            time_to_final: meter
                .f64_histogram("payment.duration")
                .with_unit("s")
                .with_description(
                    "Time from a payment's creation to its final status, by channel and type",
                )
                .build(),
        };
        // Every channel's series at zero from the first export: dashboards show "none yet",
        // not "no data".
        for (channel, _) in channels {
            for purpose in ["disbursement", "repayment"] {
                let at = [
                    KeyValue::new("channel", channel.clone()),
                    KeyValue::new("type", purpose),
                ];
                metrics.attempts.add(0, &at);
                for status in ["succeeded", "failed"] {
                    let labels = [
                        at[0].clone(),
                        at[1].clone(),
                        KeyValue::new("status", status),
                    ];
                    metrics.results.add(0, &labels);
                    metrics.amount.add(0.0, &labels);
                }
            }
        }
        let records = db.clone();
        meter
            .f64_observable_gauge("payment.in_flight.amount")
            .with_description("Money initiated and not yet final, in major units, by type")
            .with_callback(move |o| {
                if let Ok(rows) = records.read(store::in_flight) {
                    for purpose in ["disbursement", "repayment", "refund"] {
                        let amount = rows
                            .iter()
                            .find(|r| r.0 == purpose)
                            .map_or(0.0, |r| r.2.major());
                        o.observe(amount, &[KeyValue::new("type", purpose)]);
                    }
                }
            })
            .build();
        let records = db.clone();
        meter
            .i64_observable_gauge("payment.in_flight")
            .with_description("Payments initiated and not yet final, by type")
            .with_callback(move |o| {
                if let Ok(rows) = records.read(store::in_flight) {
                    for purpose in ["disbursement", "repayment", "refund"] {
                        let n = rows.iter().find(|r| r.0 == purpose).map_or(0, |r| r.1);
                        o.observe(n, &[KeyValue::new("type", purpose)]);
                    }
                }
            })
            .build();
        let records = db.clone();
        let names: Vec<String> = channels.iter().map(|c| c.0.clone()).collect();
        meter
            .i64_observable_gauge("payment.overdue")
            .with_description(
                "Payments sent to a channel and still open after 5 s (no answer, no callback), by channel",
            )
            .with_callback(move |o| {
                let before = clock.now_ms() - OVERDUE_AFTER_MS;
                if let Ok(rows) = records.read(|c| store::overdue(c, before)) {
                    for name in &names {
                        let n = rows.iter().find(|r| &r.0 == name).map_or(0, |r| r.1);
                        o.observe(n, &[KeyValue::new("channel", name.clone())]);
                    }
                }
            })
            .build();
        metrics
    }
}
