//! `risk`: credit decisions. A rule-based score over the customer's (simulated) bureau
//! record and the application, anti-fraud checks (application velocity, amount), with a
//! latency and error profile. The bureau is called through a circuit breaker; a degrade
//! switch (`risk-model`) makes every decision a conservative rule-only one, as does an open
//! bureau breaker for the calls it refuses.

mod api;
mod decision;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::Severity;
use opentelemetry::metrics::Counter;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use parking_lot::Mutex;
use rand::Rng;
use taishan_chaos::{Injection, RequestInfo};
use taishan_core::Clock;
use taishan_guard::layer::BreakerLayer;
use taishan_guard::{BreakerConfig, CircuitBreaker, DegradeSwitch, Guards};
use tower::{service_fn, Layer, ServiceExt};

pub use api::router;
pub use decision::{bureau_score, Decision, DecisionRequest, Verdict};

use crate::error::ServiceError;
use crate::telemetry::{GuardTelemetry, ServiceTelemetry};

/// How the simulated credit bureau behaves (changeable while running).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BureauProfile {
    /// Typical answer time.
    pub latency: Duration,
    /// Share of calls that fail.
    pub error_rate: f64,
}

impl Default for BureauProfile {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(15),
            error_rate: 0.01,
        }
    }
}

/// The risk service's state.
#[derive(Debug)]
pub struct Risk {
    telemetry: Arc<ServiceTelemetry>,
    clock: Arc<dyn Clock>,
    guards: Arc<Guards>,
    bureau: Arc<CircuitBreaker>,
    degrade: Arc<DegradeSwitch>,
    bureau_profile: Mutex<BureauProfile>,
    /// Recent application times per customer, for the velocity check.
    recent: Mutex<HashMap<String, Vec<i64>>>,
    decisions: Counter<u64>,
}

/// Applications one customer may make in [`VELOCITY_WINDOW_MS`] before fraud checks refuse.
const VELOCITY_LIMIT: usize = 5;
const VELOCITY_WINDOW_MS: i64 = 3_600_000;
/// Customers tracked by the velocity check before the oldest are forgotten.
const VELOCITY_CUSTOMERS: usize = 100_000;

impl Risk {
    /// A risk service with its bureau breaker and degrade switch.
    pub fn new(telemetry: Arc<ServiceTelemetry>, clock: Arc<dyn Clock>) -> Arc<Self> {
        let observer = GuardTelemetry::new(telemetry.clone());
        let guards = Arc::new(Guards::new(observer.clone(), clock.clone()));
        let bureau = guards.breaker(
            "credit-bureau",
            BreakerConfig {
                consecutive_failures: Some(5),
                open_for: Duration::from_secs(10),
                ..BreakerConfig::default()
            },
        );
        let degrade = guards.degrade_switch("risk-model");
        observer.observe(guards.clone());
        let decisions = telemetry
            .meter()
            .u64_counter("risk.decisions")
            .with_description(
                "Credit decisions by verdict (approved, rejected, error: none could be made) and source (model or fallback)",
            )
            .build();
        // Zeros from the first export: dashboards show "none yet", not "no data", and the
        // first failure counts in `increase`.
        decisions.add(
            0,
            &[
                KeyValue::new("verdict", "error"),
                KeyValue::new("source", "model"),
            ],
        );
        for verdict in ["approved", "rejected"] {
            for source in ["model", "fallback"] {
                let labels = [
                    KeyValue::new("verdict", verdict),
                    KeyValue::new("source", source),
                ];
                decisions.add(0, &labels);
            }
        }
        Arc::new(Self {
            telemetry,
            clock,
            guards,
            bureau,
            degrade,
            bureau_profile: Mutex::new(BureauProfile::default()),
            recent: Mutex::new(HashMap::new()),
            decisions,
        })
    }

    /// The service's guards.
    pub fn guards(&self) -> &Arc<Guards> {
        &self.guards
    }

    /// The degrade switch (`risk-model`).
    pub fn degrade_switch(&self) -> &Arc<DegradeSwitch> {
        &self.degrade
    }

    /// Changes how the simulated bureau behaves.
    pub fn set_bureau(&self, profile: BureauProfile) {
        *self.bureau_profile.lock() = profile;
    }

    /// Decides an application.
    pub async fn decide(
        &self,
        cx: &Context,
        req: DecisionRequest,
    ) -> Result<Decision, ServiceError> {
        req.check()?;
        let now = self.clock.now_ms();
        if let Some(reason) = self.velocity(&req.customer, now) {
            return Ok(self.finish(cx, &req, decision::refused(reason, "fraud")));
        }
        let decision = if self.degrade.is_degraded() {
            decision::conservative(&req, "degraded: the risk model is switched off")
        } else {
            if let Err(e) = self.model_faults().await {
                let labels = [
                    KeyValue::new("verdict", "error"),
                    KeyValue::new("source", "model"),
                ];
                self.decisions.add(1, &labels);
                return Err(e);
            }
            match self.bureau_score(cx, &req.customer).await {
                Ok(score) => decision::from_score(&req, score),
                Err(reason) => decision::conservative(&req, &reason),
            }
        };
        Ok(self.finish(cx, &req, decision))
    }

    /// Drills' faults inside the risk model (scope `service: risk, route: /model`): what
    /// the degrade switch routes around, unlike a fault in front of the whole service.
    async fn model_faults(&self) -> Result<(), ServiceError> {
        let Some(faults) = self.telemetry.faults() else {
            return Ok(());
        };
        let model = RequestInfo {
            service: "risk",
            method: "",
            path: "/model",
            channel: None,
        };
        match faults.decide(&model) {
            None => Ok(()),
            Some(Injection::Delay(d)) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Some(Injection::Respond { message, .. }) => Err(ServiceError::Internal(message)),
            Some(Injection::Hold(d)) => {
                tokio::time::sleep(d).await;
                Err(ServiceError::Internal(
                    "the risk model did not answer".into(),
                ))
            }
        }
    }

    fn finish(&self, cx: &Context, req: &DecisionRequest, d: Decision) -> Decision {
        self.decisions.add(
            1,
            &[
                KeyValue::new("verdict", d.verdict.as_str()),
                KeyValue::new("source", d.source.clone()),
            ],
        );
        self.telemetry.log(
            cx,
            Severity::Info,
            format!(
                "application {} of {}: {} ({})",
                req.application_id,
                req.amount,
                d.verdict.as_str(),
                d.reasons.join("; ")
            ),
            [
                KeyValue::new("application.id", req.application_id.clone()),
                KeyValue::new("customer", req.customer.clone()),
                KeyValue::new("risk.source", d.source.clone()),
            ],
        );
        d
    }

    /// Counts this application; the reason to refuse if the customer applies too often.
    fn velocity(&self, customer: &str, now: i64) -> Option<String> {
        let mut recent = self.recent.lock();
        if recent.len() >= VELOCITY_CUSTOMERS && !recent.contains_key(customer) {
            recent.retain(|_, times| times.iter().any(|t| now - t < VELOCITY_WINDOW_MS));
        }
        let times = recent.entry(customer.to_string()).or_default();
        times.retain(|t| now - t < VELOCITY_WINDOW_MS);
        times.push(now);
        (times.len() > VELOCITY_LIMIT).then(|| {
            format!(
                "{} applications within an hour (at most {VELOCITY_LIMIT})",
                times.len()
            )
        })
    }

    /// The customer's bureau score through the breaker; the reason when there is none.
    async fn bureau_score(&self, cx: &Context, customer: &str) -> Result<u32, String> {
        let profile = *self.bureau_profile.lock();
        let tracer = self.telemetry.tracer();
        let span = tracer
            .span_builder("GET /bureau/score")
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new("peer.service", "credit-bureau")])
            .start_with_context(tracer, cx);
        let cx = cx.with_span(span);
        let call = service_fn(move |customer: String| async move {
            let wait = profile.latency.mul_f64(rand::rng().random_range(0.5..1.5));
            tokio::time::sleep(wait).await;
            if rand::rng().random_bool(profile.error_rate.clamp(0.0, 1.0)) {
                return Err(BureauDown);
            }
            Ok(decision::bureau_score(&customer))
        });
        let guarded =
            BreakerLayer::new(self.bureau.clone(), self.clock.clone(), bureau_failed).layer(call);
        let result = guarded
            .oneshot(customer.to_string())
            .await
            .map_err(|e| format!("no bureau score: {e}"));
        if let Err(e) = &result {
            cx.span()
                .set_status(opentelemetry::trace::Status::error(e.clone()));
        }
        cx.span().end();
        result
    }
}

/// The simulated bureau's failure.
#[derive(Debug, thiserror::Error)]
#[error("credit bureau answered 500")]
struct BureauDown;

fn bureau_failed(result: &Result<u32, BureauDown>) -> bool {
    result.is_err()
}
