//! The traffic generator: simulated customers applying, drawing down and repaying through
//! the gateway at a target rate that follows the day (busy afternoons, quiet nights), so the
//! dashboards and anomaly models see realistic shapes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::TrafficConfig;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use taishan_core::Clock;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::gateway::API_KEY_HEADER;

/// Requests allowed in flight at once; beyond, arrivals are dropped and counted (a slow
/// system must not make the generator pile up work without bound).
const MAX_IN_FLIGHT: usize = 128;

/// What the generator did so far.
#[derive(Debug, Default)]
pub struct TrafficStats {
    /// Actions started, by kind.
    pub applications: AtomicU64,
    /// Drawdowns asked for.
    pub drawdowns: AtomicU64,
    /// Repayments made.
    pub repayments: AtomicU64,
    /// Answers with a 2xx.
    pub ok: AtomicU64,
    /// Answers with a 4xx (declined, over the line, rate limited).
    pub refused: AtomicU64,
    /// Answers with a 5xx or no answer.
    pub failed: AtomicU64,
    /// Arrivals dropped because too many requests were in flight.
    pub dropped: AtomicU64,
}

/// A snapshot of [`TrafficStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrafficTotals {
    /// Applications.
    pub applications: u64,
    /// Drawdowns.
    pub drawdowns: u64,
    /// Repayments.
    pub repayments: u64,
    /// 2xx answers.
    pub ok: u64,
    /// 4xx answers.
    pub refused: u64,
    /// 5xx or no answer.
    pub failed: u64,
    /// Dropped arrivals.
    pub dropped: u64,
}

impl TrafficStats {
    /// The counts now.
    pub fn totals(&self) -> TrafficTotals {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TrafficTotals {
            applications: g(&self.applications),
            drawdowns: g(&self.drawdowns),
            repayments: g(&self.repayments),
            ok: g(&self.ok),
            refused: g(&self.refused),
            failed: g(&self.failed),
            dropped: g(&self.dropped),
        }
    }
}

/// The rate at `now_ms`: the average times a daily wave peaking at `peak_hour_utc`.
pub fn rate_at(config: &TrafficConfig, now_ms: i64) -> f64 {
    let hour = (now_ms.rem_euclid(86_400_000) as f64) / 3_600_000.0;
    let phase = (hour - f64::from(config.peak_hour_utc)) / 24.0 * std::f64::consts::TAU;
    (config.rate * (1.0 + config.daily_amplitude * phase.cos())).max(0.0)
}

#[derive(Debug, Default, Clone)]
struct Customer {
    has_line: bool,
    owing: Vec<String>,
}

/// Customers acting against a gateway.
#[derive(Debug)]
pub struct Traffic {
    gateway_url: String,
    api_key: String,
    config: TrafficConfig,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    rng: Mutex<SmallRng>,
    customers: Mutex<HashMap<u32, Customer>>,
    stats: Arc<TrafficStats>,
}

impl Traffic {
    /// Traffic to `gateway_url` with `api_key`.
    pub fn new(
        gateway_url: String,
        api_key: String,
        config: TrafficConfig,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let rng = match config.seed {
            Some(s) => SmallRng::seed_from_u64(s),
            None => SmallRng::from_os_rng(),
        };
        Arc::new(Self {
            gateway_url: gateway_url.trim_end_matches('/').to_string(),
            api_key,
            config,
            clock,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            rng: Mutex::new(rng),
            customers: Mutex::new(HashMap::new()),
            stats: Arc::default(),
        })
    }

    /// What it did so far.
    pub fn stats(&self) -> &Arc<TrafficStats> {
        &self.stats
    }

    /// Sends actions until cancelled (or `limit` actions, when given).
    pub async fn run(self: Arc<Self>, cancel: CancellationToken, limit: Option<u64>) {
        let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut sent = 0u64;
        loop {
            let rate = rate_at(&self.config, self.clock.now_ms());
            // Exponential gaps make arrivals a Poisson process at the current rate.
            let wait = if rate > 0.0 {
                let u: f64 = self.rng.lock().random_range(f64::EPSILON..1.0);
                Duration::from_secs_f64((-u.ln() / rate).min(60.0))
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
            if rate <= 0.0 {
                continue;
            }
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let me = self.clone();
            tokio::spawn(async move {
                me.act().await;
                drop(slot);
            });
            sent += 1;
            if limit.is_some_and(|l| sent >= l) {
                break;
            }
        }
        // Let what is in flight finish.
        let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
    }

    /// One customer action.
    pub async fn act(&self) {
        let (id, customer, roll, amount, term) = {
            let mut rng = self.rng.lock();
            let id = rng.random_range(0..self.config.customers.max(1));
            let customer = self.customers.lock().get(&id).cloned().unwrap_or_default();
            (
                id,
                customer,
                rng.random::<f64>(),
                rng.random_range(1_000..80_000) * 100,
                rng.random_range(3..13u32),
            )
        };
        let name = format!("c-{id}");
        if !customer.has_line || roll < 0.1 {
            self.stats.applications.fetch_add(1, Ordering::Relaxed);
            let answer = self
                .post(
                    "/api/applications",
                    json!({"customer": name, "amount": amount, "term": term}),
                )
                .await;
            let approved = answer
                .as_ref()
                .is_some_and(|v| v["decision"]["verdict"] == "approved");
            if approved {
                self.customers.lock().entry(id).or_default().has_line = true;
            }
        } else if customer.owing.is_empty() || roll < 0.5 {
            self.stats.drawdowns.fetch_add(1, Ordering::Relaxed);
            let draw = (amount / 4).max(500_00);
            if let Some(v) = self
                .post(
                    "/api/drawdowns",
                    json!({"customer": name, "amount": draw, "term": term}),
                )
                .await
            {
                if let Some(dd) = v["id"].as_str() {
                    self.customers
                        .lock()
                        .entry(id)
                        .or_default()
                        .owing
                        .push(dd.to_string());
                }
            }
        } else {
            self.stats.repayments.fetch_add(1, Ordering::Relaxed);
            let drawdown = customer.owing[0].clone();
            let answer = self
                .post("/api/repayments", json!({"drawdown_id": drawdown}))
                .await;
            if answer.is_none() {
                // Paid off (or not disbursed): stop repaying it.
                self.customers
                    .lock()
                    .entry(id)
                    .or_default()
                    .owing
                    .retain(|d| d != &drawdown);
            }
        }
    }

    async fn post(&self, path: &str, body: Value) -> Option<Value> {
        let sent = self
            .http
            .post(format!("{}{path}", self.gateway_url))
            .header(API_KEY_HEADER, &self.api_key)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                self.stats.ok.fetch_add(1, Ordering::Relaxed);
                r.json().await.ok()
            }
            Ok(r) if r.status().is_client_error() => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_follows_the_day() {
        let c = TrafficConfig {
            rate: 10.0,
            daily_amplitude: 0.5,
            peak_hour_utc: 6,
            ..TrafficConfig::default()
        };
        let at = |h: i64| rate_at(&c, h * 3_600_000);
        assert!((at(6) - 15.0).abs() < 1e-9);
        assert!((at(18) - 5.0).abs() < 1e-9);
        assert!((at(0) - 10.0).abs() < 1e-6);
    }
}
