//! Per-tenant limits on metric writes, on by default as Mimir has them, with values for one
//! machine: labels per series, label name and value length, and samples per second (a
//! token bucket per tenant, so one tenant's flood leaves the others their share). A series
//! over a label limit is dropped and the rest of the request stored (the answer is 400
//! naming the limit and the series, as Mimir answers); a tenant over its rate gets 429 with
//! `Retry-After` and nothing of that request is stored. `0` turns a limit off.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use taishan_core::config::FieldError;
use taishan_core::{Clock, MetricBatch, TenantId};

use crate::errors::IngestError;

/// Tenants whose buckets are remembered; past it, the full (idle) ones are forgotten first.
const REMEMBERED_TENANTS: usize = 10_000;

/// `ingest.limits`: what one tenant may write.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimits {
    /// Most labels on one series, its name included. Default 40.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes. Default 1024.
    pub max_label_name_length: usize,
    /// Longest label value, in bytes. Default 2048.
    pub max_label_value_length: usize,
    /// Samples per second one tenant may write, on average. Default 1000000.
    pub samples_per_second: u64,
    /// Samples one tenant may write at once above the average. Default 5000000.
    pub burst_samples: u64,
}

impl Default for TenantLimits {
    fn default() -> Self {
        Self {
            max_labels_per_series: 40,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            samples_per_second: 1_000_000,
            burst_samples: 5_000_000,
        }
    }
}

impl TenantLimits {
    /// Problems of the section, for `ingest`'s check.
    pub fn problems(&self, errors: &mut Vec<FieldError>) {
        if self.samples_per_second > 0 && self.burst_samples < self.samples_per_second {
            errors.push(FieldError::new(
                "ingest.limits.burst_samples",
                "must be at least samples_per_second (a second's worth)",
            ));
        }
    }
}

/// The limits in force and each tenant's bucket.
#[derive(Clone)]
pub struct Limiter {
    limits: TenantLimits,
    clock: Arc<dyn Clock>,
    buckets: Arc<Mutex<HashMap<TenantId, Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl Limiter {
    /// `limits`, with time from `clock`.
    pub fn new(limits: TenantLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            buckets: Arc::default(),
        }
    }

    /// Drops the series of `batch` over a label limit; the refusal naming the first of
    /// them, if any. Nothing is allocated for a series before it is checked.
    pub fn check_labels(&self, batch: &mut MetricBatch) -> Option<IngestError> {
        let mut first = None;
        let mut dropped = 0usize;
        batch
            .series
            .retain(|s| match self.label_problem(&s.labels) {
                None => true,
                Some(why) => {
                    dropped += 1;
                    first.get_or_insert(why);
                    false
                }
            });
        first.map(|why| {
            IngestError::PartlyRefused(format!(
                "{dropped} series refused by tenant {}'s limits; the first: {why}",
                batch.tenant
            ))
        })
    }

    fn label_problem(&self, labels: &taishan_core::Labels) -> Option<String> {
        let l = &self.limits;
        let name = || {
            labels
                .get("__name__")
                .unwrap_or_default()
                .chars()
                .take(64)
                .collect::<String>()
        };
        if l.max_labels_per_series > 0 && labels.len() > l.max_labels_per_series {
            return Some(format!(
                "series {:?} has {} labels, more than ingest.limits.max_labels_per_series ({})",
                name(),
                labels.len(),
                l.max_labels_per_series
            ));
        }
        for label in labels.iter() {
            if l.max_label_name_length > 0 && label.name.len() > l.max_label_name_length {
                return Some(format!(
                    "series {:?} has a label name of {} bytes, more than ingest.limits.max_label_name_length ({})",
                    name(),
                    label.name.len(),
                    l.max_label_name_length
                ));
            }
            if l.max_label_value_length > 0 && label.value.len() > l.max_label_value_length {
                return Some(format!(
                    "series {:?} has label {:?} of {} bytes, more than ingest.limits.max_label_value_length ({})",
                    name(),
                    label.name.chars().take(64).collect::<String>(),
                    label.value.len(),
                    l.max_label_value_length
                ));
            }
        }
        None
    }

    /// Takes `samples` from `tenant`'s bucket, or refuses the request whole.
    pub fn take(&self, tenant: &TenantId, samples: usize) -> Result<(), IngestError> {
        let (rate, burst) = (self.limits.samples_per_second, self.limits.burst_samples);
        if rate == 0 || samples == 0 {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let (rate, burst, wanted) = (rate as f64, burst as f64, samples as f64);
        let mut buckets = self.buckets.lock();
        if buckets.len() >= REMEMBERED_TENANTS && !buckets.contains_key(tenant) {
            forget_idle(&mut buckets, now, rate, burst);
        }
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket {
            tokens: burst,
            at_ms: now,
        });
        let elapsed = (now - bucket.at_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at_ms = now;
        if wanted <= bucket.tokens {
            bucket.tokens -= wanted;
            return Ok(());
        }
        // A request larger than the burst can never pass: say so rather than "wait".
        if wanted > burst {
            return Err(IngestError::BadRequest(format!(
                "{samples} samples in one request is more than tenant {tenant}'s ingest.limits.burst_samples ({burst}); send smaller requests"
            )));
        }
        let wait = ((wanted - bucket.tokens) / rate).ceil().max(1.0) as u64;
        Err(IngestError::RateLimited {
            tenant: tenant.to_string(),
            limit: self.limits.samples_per_second,
            retry_after: std::time::Duration::from_secs(wait),
        })
    }
}

/// Forgets the tenants whose buckets have refilled (they would start full anyway).
fn forget_idle(buckets: &mut HashMap<TenantId, Bucket>, now: i64, rate: f64, burst: f64) {
    buckets.retain(|_, b| b.tokens + (now - b.at_ms).max(0) as f64 / 1000.0 * rate < burst);
    if buckets.len() >= REMEMBERED_TENANTS {
        // Every remembered tenant is busy: forget the one idle longest.
        if let Some(oldest) = buckets
            .iter()
            .min_by_key(|(_, b)| b.at_ms)
            .map(|(t, _)| t.clone())
        {
            buckets.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::{Label, Labels, ManualClock, SeriesSamples};

    fn series(labels: &[(&str, &str)]) -> SeriesSamples {
        let labels = labels.iter().map(|(n, v)| Label::new(*n, *v)).collect();
        SeriesSamples {
            labels: Labels::new(labels).unwrap(),
            samples: Default::default(),
        }
    }

    fn limiter(clock: Arc<ManualClock>) -> Limiter {
        let limits = TenantLimits {
            samples_per_second: 100,
            burst_samples: 300,
            ..TenantLimits::default()
        };
        Limiter::new(limits, clock)
    }

    #[test]
    fn a_series_over_a_label_limit_is_dropped_and_named_the_rest_kept() {
        let l = limiter(Arc::new(ManualClock::at(0)));
        let long = "x".repeat(2049);
        let many: Vec<(String, String)> =
            (0..40).map(|i| (format!("l{i:02}"), "v".into())).collect();
        let mut many_refs: Vec<(&str, &str)> =
            many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        many_refs.push(("__name__", "wide"));
        let mut batch = MetricBatch::new(
            TenantId::default_tenant(),
            vec![
                series(&[("__name__", "ok")]),
                series(&[("__name__", "long_value"), ("path", &long)]),
                series(&many_refs),
            ],
        );
        let why = l.check_labels(&mut batch).unwrap().to_string();
        assert_eq!(batch.series.len(), 1);
        assert!(why.starts_with("2 series refused"), "{why}");
        assert!(
            why.contains("max_label_value_length (2048)") && why.contains("long_value"),
            "{why}"
        );
        let mut fine = MetricBatch::new(TenantId::default_tenant(), vec![series(&many_refs[1..])]);
        assert!(l.check_labels(&mut fine).is_none());
    }

    #[test]
    fn each_tenant_has_its_own_bucket_refilled_by_the_clock() {
        let clock = Arc::new(ManualClock::at(0));
        let l = limiter(clock.clone());
        let (a, b) = (
            TenantId::new("bank-a").unwrap(),
            TenantId::new("bank-b").unwrap(),
        );
        assert!(l.take(&a, 300).is_ok());
        let refused = l.take(&a, 50).unwrap_err();
        assert_eq!(refused.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after_secs(), Some(1));
        assert!(refused.to_string().contains("bank-a") && refused.to_string().contains("100"));
        // bank-b is not held back by bank-a's flood.
        assert!(l.take(&b, 300).is_ok());
        clock.advance(std::time::Duration::from_millis(500));
        assert!(l.take(&a, 50).is_ok());
        assert!(l.take(&a, 1).is_err());
        // More than the burst can never pass: a 400 that says so, not a 429.
        clock.advance(std::time::Duration::from_secs(60));
        let never = l.take(&a, 301).unwrap_err();
        assert_eq!(never.status(), axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let off = TenantLimits {
            max_labels_per_series: 0,
            max_label_value_length: 0,
            samples_per_second: 0,
            ..TenantLimits::default()
        };
        let l = Limiter::new(off, Arc::new(ManualClock::at(0)));
        let long = "x".repeat(3_000);
        let mut batch = MetricBatch::new(
            TenantId::default_tenant(),
            vec![series(&[("__name__", "m"), ("v", &long)])],
        );
        assert!(l.check_labels(&mut batch).is_none());
        assert!(l.take(&TenantId::default_tenant(), usize::MAX / 2).is_ok());
    }

    #[test]
    fn the_buckets_remembered_are_bounded() {
        let clock = Arc::new(ManualClock::at(0));
        let l = limiter(clock.clone());
        for i in 0..REMEMBERED_TENANTS + 50 {
            let t = TenantId::new(&format!("t{i}")).unwrap();
            assert!(l.take(&t, 300).is_ok());
        }
        assert!(l.buckets.lock().len() <= REMEMBERED_TENANTS);
    }
}
