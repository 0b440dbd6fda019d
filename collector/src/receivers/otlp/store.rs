//! Storing decoded OTLP exports: each resource under its tenant, metrics through the shared
//! converter, spans and log records as they are (log records from other receivers, turned
//! into OTLP records, take the same path).

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use taishan_core::{LogBatch, MetricBatch, SpanBatch, TenantId};

use super::{Otlp, PATH};
use crate::errors::IngestError;
use crate::ingest::{IngestPath, IngestState};
use crate::tenant::Tenancy;

impl IngestState {
    /// Stores a decoded logs export, counted under `path` (OTLP, or a receiver that turned
    /// its format into OTLP records).
    pub async fn store_logs(
        &self,
        path: IngestPath,
        to: &Tenancy,
        req: ExportLogsServiceRequest,
    ) -> Result<ExportLogsServiceResponse, IngestError> {
        let attribute = self.tenant_attribute.as_deref();
        for (tenant, resource_logs) in
            by_tenant(to, attribute, req.resource_logs, |r| r.resource.as_ref())?
        {
            let batch = LogBatch {
                tenant,
                resource_logs,
            };
            self.append_logs(path, batch).await?;
        }
        Ok(ExportLogsServiceResponse {
            partial_success: None,
        })
    }

    /// Stores an encoded trace export (refused whole unless it is a well-formed
    /// `ExportTraceServiceRequest`); spans with malformed ids are reported.
    pub async fn store_traces(
        &self,
        to: &Tenancy,
        request: Bytes,
    ) -> Result<ExportTraceServiceResponse, IngestError> {
        let batch = SpanBatch::from_request(to.tenant.clone(), request).map_err(|e| {
            IngestError::BadRequest(format!("body is not a valid OTLP trace export: {e}"))
        })?;
        let batches = match self.tenant_attribute.as_deref() {
            // The request's own tenant, which the edge has checked.
            None => vec![batch],
            Some(attribute) => {
                let batches = batch
                    .split_by_tenant(attribute)
                    .map_err(|e| IngestError::BadRequest(e.to_string()))?;
                // Every batch is checked before any is stored: a refusal stores nothing.
                let by = format!("resource attribute {attribute:?}");
                for batch in &batches {
                    to.admit(batch.tenant.clone(), &by)?;
                }
                batches
            }
        };
        let (mut rejected, mut errors) = (0usize, Vec::new());
        for batch in batches {
            let outcome = self.append_spans(batch).await?;
            rejected += outcome.rejected;
            errors.extend(outcome.errors);
        }
        let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected as i64,
            error_message: errors.join("; "),
        });
        Ok(ExportTraceServiceResponse { partial_success })
    }
}

impl Otlp {
    /// Stores a decoded metrics export; the response reports points that could not be
    /// converted.
    pub async fn store_metrics(
        &self,
        to: &Tenancy,
        req: ExportMetricsServiceRequest,
    ) -> Result<ExportMetricsServiceResponse, IngestError> {
        let ingest = &self.ingest;
        let attribute = ingest.tenant_attribute.as_deref();
        let (mut rejected, mut errors) = (0i64, Vec::new());
        for (tenant, resource_metrics) in
            by_tenant(to, attribute, req.resource_metrics, |r| r.resource.as_ref())?
        {
            let part = ExportMetricsServiceRequest { resource_metrics };
            let converted = self
                .converter
                .convert(&tenant, &part, ingest.clock.now_ms());
            rejected += converted.rejected;
            errors.extend(converted.errors);
            ingest.metrics.observe_deltas(self.converter.deltas());
            let batch = MetricBatch::new(tenant, converted.series);
            match ingest.publish(PATH, batch).await {
                Ok(_) => {}
                // Samples the store refused (out of order, limits) are partial success too.
                Err(IngestError::PartlyRefused(why)) => {
                    rejected += 1;
                    errors.push(why);
                }
                Err(e) => return Err(e),
            }
        }
        let partial_success = (rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: errors.join("; "),
        });
        Ok(ExportMetricsServiceResponse { partial_success })
    }
}

/// Splits items by tenant: the configured resource attribute's value when an item's
/// resource has it (and the credential may write that tenant), else the request's. Any
/// refusal refuses the whole request before anything is stored.
fn by_tenant<R>(
    to: &Tenancy,
    attribute: Option<&str>,
    items: Vec<R>,
    resource: impl Fn(&R) -> Option<&Resource>,
) -> Result<Vec<(TenantId, Vec<R>)>, IngestError> {
    let Some(attribute) = attribute else {
        return Ok(vec![(to.tenant.clone(), items)]);
    };
    let mut out: Vec<(TenantId, Vec<R>)> = Vec::new();
    for item in items {
        let named = resource(&item)
            .and_then(|r| r.attributes.iter().find(|a| a.key == attribute))
            .map(|a| super::metrics::any_to_string(a.value.as_ref()));
        let tenant = match named {
            Some(name) => {
                let named = TenantId::new(&name).map_err(|e| {
                    IngestError::BadRequest(format!(
                        "resource attribute {attribute:?} is not a valid tenant: {e}"
                    ))
                })?;
                to.admit(named, &format!("resource attribute {attribute:?}"))?
            }
            None => to.tenant.clone(),
        };
        match out.iter_mut().find(|(t, _)| *t == tenant) {
            Some((_, v)) => v.push(item),
            None => out.push((tenant, vec![item])),
        }
    }
    Ok(out)
}
