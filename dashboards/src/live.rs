//! Live data: one evaluation per view and refresh interval, shared by every page showing it.
//!
//! The first page to open a view starts its feed: a task that evaluates the dashboard
//! ([`crate::evaluate`]) on the query engine each refresh interval and publishes the JSON on a
//! `watch` channel; every other page of the same view reads the same bytes. When the last
//! page goes away the feed stops. Twenty people watching the home page cost one evaluation
//! per refresh, not twenty.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use taishan_core::Clock;
use taishan_query::{ApiError, Engine, QueryGate, Turn};
use tokio::sync::watch;

use crate::catalog::Catalog;
use crate::evaluate::{evaluate, View};

/// A view refreshed every so often.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    /// What is shown.
    pub view: View,
    /// How often it is re-evaluated.
    pub refresh: Duration,
}

type Feed = Arc<watch::Sender<Arc<str>>>;

/// The feeds of the views open now.
pub struct LiveHub {
    engine: Engine,
    gate: QueryGate,
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    feeds: Mutex<HashMap<FeedKey, Feed>>,
    evaluations: AtomicU64,
}

impl LiveHub {
    /// Feeds evaluated on `engine` at `clock`'s time.
    pub fn new(
        engine: Engine,
        gate: QueryGate,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            gate,
            catalog,
            clock,
            feeds: Mutex::new(HashMap::new()),
            evaluations: AtomicU64::new(0),
        })
    }

    /// How many evaluations ran since start (each shared by every viewer of its view).
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// How many views are being fed.
    pub fn open_feeds(&self) -> usize {
        self.feeds.lock().len()
    }

    /// Evaluates `view` once, now, with a turn of the query gate (refused as the query API
    /// refuses: 429 over the tenant's share, 503 when the queue is full); `None` when there
    /// is no such dashboard.
    pub async fn once(self: &Arc<Self>, view: View) -> Result<Option<Arc<str>>, ApiError> {
        let turn = self.turn(&view).await?;
        let me = self.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            me.evaluate(&view)
        });
        Ok(evaluated.await.ok().flatten())
    }

    async fn turn(&self, view: &View) -> Result<Turn, ApiError> {
        let timeout = self.engine.limits().timeout;
        self.gate.enter(&view.tenant, timeout).await
    }

    /// The latest data of `key`'s view and each one after; starts its feed if none runs.
    /// `None` when there is no such dashboard.
    pub fn subscribe(self: &Arc<Self>, key: FeedKey) -> Option<watch::Receiver<Arc<str>>> {
        self.catalog.get(&key.view.dashboard)?;
        let mut feeds = self.feeds.lock();
        if let Some(feed) = feeds.get(&key) {
            let mut rx = feed.subscribe();
            // A page joining a running feed draws at once from its latest data.
            if !rx.borrow().is_empty() {
                rx.mark_changed();
            }
            return Some(rx);
        }
        let (tx, rx) = watch::channel(Arc::<str>::from(""));
        let feed = Arc::new(tx);
        feeds.insert(key.clone(), feed.clone());
        tokio::spawn(self.clone().run_feed(key, feed));
        Some(rx)
    }

    async fn run_feed(self: Arc<Self>, key: FeedKey, feed: Feed) {
        tracing::debug!(dashboard = %key.view.dashboard, range_s = key.view.range_s, "live feed started");
        let mut ticks = tokio::time::interval(key.refresh);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if self.stop_if_unwatched(&key, &feed) {
                break;
            }
            let turn = match self.turn(&key.view).await {
                Ok(turn) => turn,
                // Busy: this round is skipped; the page keeps the data it has.
                Err(_) => continue,
            };
            let me = self.clone();
            let view = key.view.clone();
            let evaluated = tokio::task::spawn_blocking(move || {
                let _turn = turn;
                me.evaluate(&view)
            });
            match evaluated.await {
                Ok(Some(data)) => {
                    feed.send_replace(data);
                }
                // The dashboard was removed from its directory: its pages get nothing more.
                Ok(None) => {
                    self.feeds.lock().remove(&key);
                    break;
                }
                Err(e) => tracing::error!(error = %e, "a dashboard evaluation failed"),
            }
        }
        tracing::debug!(dashboard = %key.view.dashboard, "live feed stopped: nobody watches");
    }

    /// Removes the feed when no page reads it (under the lock, so no page joins meanwhile).
    fn stop_if_unwatched(&self, key: &FeedKey, feed: &Feed) -> bool {
        let mut feeds = self.feeds.lock();
        if feed.receiver_count() > 0 {
            return false;
        }
        feeds.remove(key);
        true
    }

    fn evaluate(&self, view: &View) -> Option<Arc<str>> {
        let d = self.catalog.get(&view.dashboard)?;
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let data = evaluate(&self.engine, &d, view, self.clock.now_ms());
        Some(Arc::from(data.to_string()))
    }
}
