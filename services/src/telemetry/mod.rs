//! OpenTelemetry for each service: its own resource (`service.name`), tracer, logger and
//! meter, exporting OTLP/HTTP to Taishan like any external app; spans for inbound and
//! outbound calls; guard changes as metrics and log lines.

mod guards;
mod inbound;
mod outbound;
mod tls_export;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::HttpClient;
use opentelemetry_otlp::{
    LogExporter, MetricExporter, SpanExporter, WithExportConfig, WithHttpConfig,
};
use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{self, BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use serde::{Deserialize, Serialize};

pub use guards::GuardTelemetry;
pub use inbound::{TraceCx, TracedRoutes};
pub use outbound::{CallError, TracedClient};
pub use tls_export::ExportTls;
use tls_export::TlsExportClient;

/// Spans or log records a service buffers before it drops new ones.
const QUEUE: usize = 65_536;
/// Most spans or records per export request.
const BATCH: usize = 4_096;
/// Longest wait before buffered spans or records are exported.
const DELAY: Duration = Duration::from_secs(1);

/// Where the services send their telemetry.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// OTLP/HTTP base URL (`/v1/traces`, `/v1/metrics`, `/v1/logs` are appended); `null`
    /// keeps telemetry in process (tests). Default `http://127.0.0.1:4318`.
    #[serde(default = "default_endpoint")]
    pub otlp_endpoint: Option<String>,
    /// How often metrics are exported. Default `10s`.
    #[serde(default = "default_export_interval", with = "humantime_serde")]
    pub metrics_interval: Duration,
    /// The `Authorization` header the exporters send (a receiver that asks for
    /// credentials); set by the process, never read from a file.
    #[serde(skip)]
    pub authorization: Option<taishan_core::Secret>,
    /// TLS toward a receiver that serves it (Taishan's own listeners); set by the
    /// process, never read from a file.
    #[serde(skip)]
    pub tls: Option<ExportTls>,
}

fn default_endpoint() -> Option<String> {
    Some("http://127.0.0.1:4318".into())
}
fn default_export_interval() -> Duration {
    Duration::from_secs(10)
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: default_endpoint(),
            metrics_interval: default_export_interval(),
            authorization: None,
            tls: None,
        }
    }
}

/// Where and how one exporter sends.
struct Export<'a> {
    url: String,
    headers: &'a std::collections::HashMap<String, String>,
    client: Option<&'a Arc<dyn HttpClient>>,
}

impl Export<'_> {
    fn to<B: WithExportConfig + WithHttpConfig>(self, exporter: B) -> B {
        let exporter = exporter
            .with_endpoint(self.url)
            .with_headers(self.headers.clone());
        match self.client {
            Some(client) => exporter.with_shared_http_client(client.clone()),
            None => exporter,
        }
    }
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("setting up OTLP export for {service}: {reason}")]
pub struct TelemetryError {
    service: String,
    reason: String,
}

/// One service's tracer, logger and meter.
#[derive(Debug)]
pub struct ServiceTelemetry {
    service: &'static str,
    /// The faults drills arm against this service, consulted on every request it serves.
    faults: Option<taishan_chaos::FaultSet>,
    tracer: SdkTracer,
    logger: SdkLogger,
    meter: Meter,
    traces: SdkTracerProvider,
    logs: SdkLoggerProvider,
    metrics: SdkMeterProvider,
}

impl ServiceTelemetry {
    /// Telemetry for `service`, exporting where `config` says.
    pub fn new(service: &'static str, config: &TelemetryConfig) -> Result<Self, TelemetryError> {
        let fail = |reason: String| TelemetryError {
            service: service.into(),
            reason,
        };
        let resource = Resource::builder()
            .with_service_name(service)
            .with_attributes([
                KeyValue::new("service.namespace", "taishan-demo"),
                KeyValue::new("service.instance.id", format!("{service}-0")),
            ])
            .build();
        let mut traces = SdkTracerProvider::builder().with_resource(resource.clone());
        let mut logs = SdkLoggerProvider::builder().with_resource(resource.clone());
        let mut metrics = SdkMeterProvider::builder().with_resource(resource);
        if let Some(base) = &config.otlp_endpoint {
            let headers: std::collections::HashMap<String, String> = config
                .authorization
                .iter()
                .map(|a| ("authorization".to_string(), a.expose().to_string()))
                .collect();
            let base = base.trim_end_matches('/');
            let client: Option<Arc<dyn HttpClient>> = match &config.tls {
                Some(tls) => Some(Arc::new(TlsExportClient::new(tls).map_err(fail)?)),
                None => None,
            };
            let http = |path: &str| Export {
                url: format!("{base}{path}"),
                headers: &headers,
                client: client.as_ref(),
            };
            let spans = http("/v1/traces")
                .to(SpanExporter::builder().with_http())
                .build()
                .map_err(|e| fail(e.to_string()))?;
            let log_exporter = http("/v1/logs")
                .to(LogExporter::builder().with_http())
                .build()
                .map_err(|e| fail(e.to_string()))?;
            let metric_exporter = http("/v1/metrics")
                .to(MetricExporter::builder().with_http())
                .build()
                .map_err(|e| fail(e.to_string()))?;
            // Queues sized for the demo at full speed (about 15 spans and 5 log records
            // per transfer); the SDK's defaults (2048, every 5 s) drop most of them.
            traces = traces.with_span_processor(
                BatchSpanProcessor::builder(spans)
                    .with_batch_config(
                        trace::BatchConfigBuilder::default()
                            .with_max_queue_size(QUEUE)
                            .with_max_export_batch_size(BATCH)
                            .with_scheduled_delay(DELAY)
                            .build(),
                    )
                    .build(),
            );
            logs = logs.with_log_processor(
                BatchLogProcessor::builder(log_exporter)
                    .with_batch_config(
                        opentelemetry_sdk::logs::BatchConfigBuilder::default()
                            .with_max_queue_size(QUEUE)
                            .with_max_export_batch_size(BATCH)
                            .with_scheduled_delay(DELAY)
                            .build(),
                    )
                    .build(),
            );
            metrics = metrics.with_reader(
                PeriodicReader::builder(metric_exporter)
                    .with_interval(config.metrics_interval)
                    .build(),
            );
        }
        let traces = traces.build();
        let logs = logs.build();
        let metrics = metrics.build();
        Ok(Self {
            service,
            faults: None,
            tracer: traces.tracer(service),
            logger: logs.logger(service),
            meter: metrics.meter(service),
            traces,
            logs,
            metrics,
        })
    }

    /// The service's name (`service.name`).
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The same telemetry, with the faults of `set` reaching this service's routes
    /// ([`TracedRoutes::traced`] puts them inside the span, so
    /// an injected failure is seen as the service's own).
    pub fn with_faults(mut self, set: taishan_chaos::FaultSet) -> Self {
        self.faults = Some(set);
        self
    }

    /// The faults reaching this service, if drills can reach it.
    pub fn faults(&self) -> Option<&taishan_chaos::FaultSet> {
        self.faults.as_ref()
    }

    /// Its tracer.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// Its meter, for the service's business metrics.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Emits a structured log record tied to the span in `cx` (its trace and span ids), and
    /// mirrors it to the process log at debug level.
    pub fn log(
        &self,
        cx: &Context,
        severity: Severity,
        body: impl Into<String>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        let body = body.into();
        tracing::debug!(service = self.service, ?severity, "{body}");
        let mut record = self.logger.create_log_record();
        record.set_severity_number(severity);
        record.set_severity_text(severity.name());
        record.set_body(AnyValue::from(body));
        record.set_timestamp(std::time::SystemTime::now());
        for kv in attributes {
            record.add_attribute(kv.key, AnyValue::from(kv.value.to_string()));
        }
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
        }
        self.logger.emit(record);
    }

    /// Sends what is buffered now (before a test reads it, or at shutdown).
    pub fn flush(&self) {
        let _ = self.traces.force_flush();
        let _ = self.logs.force_flush();
        let _ = self.metrics.force_flush();
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(&self) {
        self.flush();
        let _ = self.traces.shutdown();
        let _ = self.logs.shutdown();
        let _ = self.metrics.shutdown();
    }
}
