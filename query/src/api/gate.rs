//! At most `max_concurrency` queries evaluate at once; a bounded number wait their turn and
//! the rest are refused with 503 and `Retry-After`, so a burst of heavy queries queues in
//! bounded memory instead of piling up threads. One tenant may hold at most
//! `max_concurrency_per_tenant` of the running and waiting places (429 beyond), so one
//! tenant's dashboards cannot starve the others' queries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;
use taishan_core::TenantId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::response::ApiError;

/// How many may wait per evaluation slot.
const QUEUE_PER_SLOT: usize = 4;

/// The admission gate of PromQL queries.
#[derive(Debug, Clone)]
pub struct QueryGate {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    /// Queries running or waiting, by tenant (a tenant leaves the map at zero).
    by_tenant: Arc<Mutex<HashMap<TenantId, usize>>>,
    per_tenant: usize,
}

/// A query's turn; dropping it lets the next one in.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    _share: Share,
}

/// One of a tenant's places; given back on drop.
struct Share {
    by_tenant: Arc<Mutex<HashMap<TenantId, usize>>>,
    tenant: TenantId,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut by_tenant = self
            .by_tenant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = by_tenant.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_tenant.remove(&self.tenant);
            }
        }
    }
}

impl QueryGate {
    /// A gate letting `max_concurrency` queries run, at most `per_tenant` of one tenant
    /// running or waiting (0: no limit of its own).
    pub fn new(max_concurrency: usize, per_tenant: usize) -> Self {
        let n = max_concurrency.max(1);
        Self {
            slots: Arc::new(Semaphore::new(n)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: n * QUEUE_PER_SLOT,
            by_tenant: Arc::default(),
            per_tenant,
        }
    }

    /// One of `tenant`'s places, or 429 when it holds them all.
    fn share(&self, tenant: &TenantId) -> Result<Share, ApiError> {
        let mut by_tenant = self
            .by_tenant
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = by_tenant.entry(tenant.clone()).or_insert(0);
        if self.per_tenant > 0 && *held >= self.per_tenant {
            return Err(ApiError::too_many(format!(
                "tenant {tenant} has {held} queries running or waiting, its limit (query.max_concurrency_per_tenant); try again shortly"
            )));
        }
        *held += 1;
        Ok(Share {
            by_tenant: self.by_tenant.clone(),
            tenant: tenant.clone(),
        })
    }

    /// Waits for a turn of `tenant` for at most `timeout`; refuses at once when the queue
    /// or the tenant's share is full.
    pub async fn enter(&self, tenant: &TenantId, timeout: Duration) -> Result<Turn, ApiError> {
        let share = self.share(tenant)?;
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(Turn {
                _permit: permit,
                _share: share,
            });
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::overloaded(
                "too many queries are running or waiting; try again shortly",
                1,
            ));
        }
        let got = tokio::time::timeout(timeout, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match got {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: permit,
                _share: share,
            }),
            Ok(Err(_)) => Err(ApiError::internal("the query gate is closed")),
            Err(_) => Err(ApiError::overloaded(
                "query timed out waiting for a free evaluation slot",
                1,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_the_queue_and_admits_when_a_turn_ends() {
        let gate = QueryGate::new(1, 0);
        let t = TenantId::default_tenant();
        let first = gate.enter(&t, Duration::from_secs(1)).await.unwrap();
        // One slot, four places in the queue: fill them with waiters.
        let mut waiters = Vec::new();
        for _ in 0..QUEUE_PER_SLOT {
            let g = gate.clone();
            let t = t.clone();
            waiters.push(tokio::spawn(async move {
                g.enter(&t, Duration::from_secs(30)).await.is_ok()
            }));
        }
        while gate.waiting.load(Ordering::Acquire) < QUEUE_PER_SLOT {
            tokio::task::yield_now().await;
        }
        let refused = gate.enter(&t, Duration::from_secs(1)).await.err().unwrap();
        assert_eq!(refused.kind(), "unavailable");
        drop(first);
        for w in waiters {
            assert!(w.await.unwrap());
        }
    }

    #[tokio::test]
    async fn one_tenant_holds_at_most_its_share_and_gets_it_back() {
        let gate = QueryGate::new(4, 2);
        let (a, b) = (
            TenantId::new("bank-a").unwrap(),
            TenantId::new("bank-b").unwrap(),
        );
        let first = gate.enter(&a, Duration::from_secs(1)).await.unwrap();
        let _second = gate.enter(&a, Duration::from_secs(1)).await.unwrap();
        let refused = gate.enter(&a, Duration::from_secs(1)).await.err().unwrap();
        assert_eq!(refused.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(format!("{refused:?}").contains("query.max_concurrency_per_tenant"));
        // Another tenant still gets in.
        assert!(gate.enter(&b, Duration::from_secs(1)).await.is_ok());
        drop(first);
        assert!(gate.enter(&a, Duration::from_secs(1)).await.is_ok());
        // Tenants holding nothing are forgotten.
        drop(_second);
        assert!(gate.by_tenant.lock().unwrap().is_empty());
    }
}
