//! What every receiver shares: where decoded telemetry goes (the bus, the span and log
//! sinks), the body limit, the clock and the counters; and the one path a write takes
//! from a request to an answer ([`IngestState::handle`]).

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use taishan_core::{
    AppendOutcome, Bus, Clock, LogBatch, LogSink, MetricBatch, SpanBatch, SpanOutcome, SpanSink,
};

use crate::errors::{ErrorBody, IngestError};
use crate::limits::{Limiter, TenantLimits};
use crate::metrics::IngestMetrics;

/// Which door a write came in by: the `path` label of ingest metrics. Each receiver
/// declares its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IngestPath(&'static str);

impl IngestPath {
    /// A path labelled `label`.
    pub const fn new(label: &'static str) -> Self {
        Self(label)
    }

    /// Label value in metrics.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// What the receivers share.
#[derive(Clone)]
pub struct IngestState {
    /// Where metric batches go.
    pub bus: Arc<dyn Bus>,
    /// Where spans go.
    pub spans: Arc<dyn SpanSink>,
    /// Where log records go.
    pub logs: Arc<dyn LogSink>,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: usize,
    /// Counters.
    pub metrics: IngestMetrics,
    /// Time for data sent without a timestamp.
    pub clock: Arc<dyn Clock>,
    /// The resource attribute naming a resource's tenant, when configured; it overrides
    /// `X-Scope-OrgID` for that resource (OTLP resources, and those log receivers make).
    pub tenant_attribute: Option<String>,
    /// Each tenant's limits on metric writes.
    pub limiter: Limiter,
}

impl IngestState {
    /// Receivers writing metrics to `bus`, spans to `spans` and logs to `logs`, accepting
    /// bodies of `max_body_bytes`.
    pub fn new(
        bus: Arc<dyn Bus>,
        spans: Arc<dyn SpanSink>,
        logs: Arc<dyn LogSink>,
        max_body_bytes: usize,
        clock: Arc<dyn Clock>,
        metrics: IngestMetrics,
    ) -> Self {
        Self {
            bus,
            spans,
            logs,
            max_body_bytes,
            metrics,
            limiter: Limiter::new(TenantLimits::default(), clock.clone()),
            clock,
            tenant_attribute: None,
        }
    }

    /// Holds each tenant to `limits` (the default ones otherwise).
    pub fn with_limits(mut self, limits: TenantLimits) -> Self {
        self.limiter = Limiter::new(limits, self.clock.clone());
        self
    }

    /// Takes each OTLP resource's tenant from `attribute` when the resource has it.
    pub fn with_tenant_attribute(mut self, attribute: Option<String>) -> Self {
        self.tenant_attribute = attribute;
        self
    }

    /// The clock's time in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.clock.now_ms()).unwrap_or(0) * 1_000_000
    }

    /// Runs a write: times it, answers 204 when it succeeds, else counts the refusal under
    /// `path` and answers in `body`'s format.
    pub async fn handle<T, F>(&self, path: IngestPath, body: ErrorBody, work: F) -> Response
    where
        F: std::future::Future<Output = Result<T, IngestError>>,
    {
        let start = Instant::now();
        let resp = match work.await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => self.refuse(path, e).into_http(body),
        };
        self.metrics
            .write_duration
            .observe(start.elapsed().as_secs_f64());
        resp
    }

    /// Counts a refusal under `path` and hands it back to be answered.
    pub fn refuse(&self, path: IngestPath, err: IngestError) -> IngestError {
        self.metrics
            .requests_refused
            .with_label_values(&[path.as_str(), err.reason()])
            .inc();
        match err {
            // A credential reaching past its tenants is worth an operator's look.
            IngestError::Forbidden(_) => {
                tracing::warn!(path = path.as_str(), error = %err, "write refused")
            }
            _ => tracing::debug!(path = path.as_str(), error = %err, "write refused"),
        }
        err
    }

    /// Publishes a decoded batch and turns the bus's answer into the client's.
    /// The tenant's limits apply first: series over a label limit are dropped (and named
    /// in the answer), and a tenant over its rate is refused whole.
    pub async fn publish(
        &self,
        path: IngestPath,
        mut batch: MetricBatch,
    ) -> Result<AppendOutcome, IngestError> {
        let limited = self.limiter.check_labels(&mut batch);
        if batch.series.is_empty() {
            return limited.map_or(Ok(AppendOutcome::default()), Err);
        }
        self.limiter.take(&batch.tenant, batch.sample_count())?;
        let outcome = self.bus.publish(batch).await?;
        self.metrics
            .samples_ingested
            .with_label_values(&[path.as_str()])
            .inc_by(outcome.accepted as u64);
        let mut refusals: Vec<String> = limited.iter().map(ToString::to_string).collect();
        if !outcome.rejected.is_empty() {
            refusals.push(describe_refusals(&outcome));
        }
        match refusals.is_empty() {
            true => Ok(outcome),
            false => Err(IngestError::PartlyRefused(refusals.join("; "))),
        }
    }

    /// Stores log records, durable when it returns; counted under `path`.
    pub async fn append_logs(
        &self,
        path: IngestPath,
        batch: LogBatch,
    ) -> Result<usize, IngestError> {
        let stored = self.logs.append_logs(batch).await?;
        self.metrics
            .logs_ingested
            .with_label_values(&[path.as_str()])
            .inc_by(stored as u64);
        Ok(stored)
    }

    /// Stores spans, durable when it returns.
    pub async fn append_spans(&self, batch: SpanBatch) -> Result<SpanOutcome, IngestError> {
        let outcome = self.spans.append_spans(batch).await?;
        self.metrics.spans_ingested.inc_by(outcome.accepted as u64);
        Ok(outcome)
    }

    /// Reads a request body, decompressing gzip, refusing more than the limit.
    pub async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, IngestError> {
        let limit = self.max_body_bytes;
        let raw = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| IngestError::TooLarge { limit })?;
        match headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
        {
            None => Ok(raw),
            Some(e) if e.is_empty() || e == "identity" => Ok(raw),
            Some(e) if e == "gzip" => {
                use std::io::Read;
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .take(limit as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| IngestError::BadRequest(format!("body is not valid gzip: {e}")))?;
                if out.len() > limit {
                    return Err(IngestError::TooLarge { limit });
                }
                Ok(Bytes::from(out))
            }
            Some(other) => Err(IngestError::UnsupportedEncoding(other)),
        }
    }
}

/// "stored 3 samples; refused 2: 1 out_of_order (e.g. up{...} @ 5), 1 ..."
fn describe_refusals(outcome: &AppendOutcome) -> String {
    let parts: Vec<String> = outcome
        .rejected
        .iter()
        .map(|r| match r.reason.limit() {
            Some(limit) => format!(
                "{} {} ({limit}; e.g. {})",
                r.samples,
                r.reason.as_str(),
                r.example
            ),
            None => format!("{} {} (e.g. {})", r.samples, r.reason.as_str(), r.example),
        })
        .collect();
    format!(
        "stored {} samples; refused {}: {}",
        outcome.accepted,
        outcome.rejected_count(),
        parts.join(", ")
    )
}
