//! The loop that scrapes one target.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use taishan_core::{
    Bus, Clock, Label, Labels, MetadataRegistry, MetricBatch, MetricMetadata, Sample,
    SeriesSamples, METRIC_NAME,
};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::exposition::{self, ExposedSample, Exposition, Format};
use super::ScrapeTarget;
use crate::metrics::IngestMetrics;

const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

pub(super) struct LoopContext {
    pub bus: Arc<dyn Bus>,
    pub clock: Arc<dyn Clock>,
    pub metrics: IngestMetrics,
    pub max_body_bytes: usize,
    pub client: reqwest::Client,
    pub metadata: MetadataRegistry,
}

pub(super) async fn run(ctx: LoopContext, target: ScrapeTarget, cancel: CancellationToken) {
    // Spread targets over the interval so they do not all fire at once.
    let spread = u64::try_from(target.interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let offset = target
        .url
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % spread;
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(std::time::Duration::from_millis(offset)) => {}
    }
    let mut ticker = tokio::time::interval(target.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut previous = HashSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        scrape_and_publish(&ctx, &target, &mut previous).await;
    }
}

pub(super) async fn scrape_and_publish(
    ctx: &LoopContext,
    target: &ScrapeTarget,
    previous: &mut HashSet<Labels>,
) {
    let t = ctx.clock.now_ms();
    let start = Instant::now();
    let result = fetch(ctx, target).await;
    let took = start.elapsed().as_secs_f64();
    ctx.metrics
        .scrape_duration
        .with_label_values(&[&target.job])
        .observe(took);
    let mut series = Vec::new();
    let mut current = HashSet::new();
    let (up, scraped) = match result {
        Ok(Exposition { samples, metadata }) => {
            for m in metadata {
                ctx.metadata.record(
                    &m.name,
                    MetricMetadata {
                        kind: m.kind,
                        help: m.help,
                        unit: m.unit,
                    },
                );
            }
            let n = samples.len();
            for s in samples {
                match target_labels(target, &s) {
                    Ok(labels) => {
                        if current.insert(labels.clone()) {
                            series.push(SeriesSamples {
                                labels,
                                samples: smallvec::smallvec![Sample::new(
                                    s.timestamp_ms.unwrap_or(t),
                                    s.value
                                )],
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(job = %target.job, url = %target.url, error = %e, "exposed sample dropped")
                    }
                }
            }
            (1.0, n)
        }
        Err(e) => {
            tracing::warn!(job = %target.job, url = %target.url, error = %e, "scrape failed");
            (0.0, 0)
        }
    };
    for gone in previous.difference(&current) {
        series.push(SeriesSamples {
            labels: gone.clone(),
            samples: smallvec::smallvec![Sample::stale(t)],
        });
    }
    for (name, value) in [
        ("up", up),
        ("scrape_duration_seconds", took),
        ("scrape_samples_scraped", scraped as f64),
    ] {
        if let Ok(labels) = synthetic_labels(target, name) {
            series.push(SeriesSamples {
                labels,
                samples: smallvec::smallvec![Sample::new(t, value)],
            });
        }
    }
    *previous = current;
    if let Err(e) = ctx
        .bus
        .publish(MetricBatch::new(target.tenant.clone(), series))
        .await
    {
        ctx.metrics
            .requests_refused
            .with_label_values(&[super::PATH.as_str(), "storage"])
            .inc();
        tracing::warn!(job = %target.job, url = %target.url, error = %e, "scraped samples not stored");
    } else {
        ctx.metrics
            .samples_ingested
            .with_label_values(&[super::PATH.as_str()])
            .inc_by(scraped as u64 + 3);
    }
}

async fn fetch(ctx: &LoopContext, target: &ScrapeTarget) -> Result<Exposition, String> {
    let mut request = ctx.client.get(&target.url);
    if let Some(authorization) = &target.authorization {
        request = request.header("Authorization", authorization.expose());
    }
    let mut resp = request
        .header("Accept", ACCEPT)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", target.timeout.as_secs_f64()),
        )
        .timeout(target.timeout)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("server returned HTTP status {}", resp.status()));
    }
    let format = Format::from_content_type(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading body: {e}"))?
    {
        if body.len() + chunk.len() > ctx.max_body_bytes {
            return Err(format!(
                "body exceeds the limit of {} bytes",
                ctx.max_body_bytes
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    exposition::parse(&text, format).map_err(|e| e.to_string())
}

/// Exposed labels plus the target's; exposed ones that clash are kept as `exported_<name>`.
fn target_labels(
    target: &ScrapeTarget,
    s: &ExposedSample,
) -> Result<Labels, taishan_core::LabelError> {
    let mut own: Vec<(String, String)> = vec![
        ("job".into(), target.job.clone()),
        ("instance".into(), target.instance.clone()),
    ];
    own.extend(target.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut labels: Vec<Label> = Vec::with_capacity(s.labels.len() + own.len() + 1);
    labels.push(Label::new(METRIC_NAME, s.name.clone()));
    for (k, v) in &s.labels {
        if own.iter().any(|(o, _)| o == k) {
            labels.push(Label::new(format!("exported_{k}"), v.clone()));
        } else {
            labels.push(Label::new(k.clone(), v.clone()));
        }
    }
    labels.extend(own.into_iter().map(|(k, v)| Label::new(k, v)));
    Labels::new(labels)
}

fn synthetic_labels(target: &ScrapeTarget, name: &str) -> Result<Labels, taishan_core::LabelError> {
    let mut labels = vec![
        Label::new(METRIC_NAME, name),
        Label::new("job", target.job.clone()),
        Label::new("instance", target.instance.clone()),
    ];
    labels.extend(
        target
            .labels
            .iter()
            .map(|(k, v)| Label::new(k.clone(), v.clone())),
    );
    Labels::new(labels)
}
