//! Delivery slots: how many notifications of one receiver are under way at once. Without a
//! bound, a burst of new groups opens one connection per group to the same endpoint; with
//! it, the burst reuses a few kept-alive connections and is delivered sooner.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// The most notifications of one receiver under way at once.
pub(super) const DELIVERIES_PER_RECEIVER: usize = 32;

/// One semaphore per receiver, made when the receiver first delivers.
#[derive(Debug, Default)]
pub(super) struct DeliverySlots {
    by_receiver: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl DeliverySlots {
    /// The slots of `receiver`.
    pub(super) fn of(&self, receiver: &str) -> Arc<Semaphore> {
        let mut slots = self.by_receiver.lock();
        if let Some(s) = slots.get(receiver) {
            return s.clone();
        }
        let s = Arc::new(Semaphore::new(DELIVERIES_PER_RECEIVER));
        slots.insert(receiver.to_string(), s.clone());
        s
    }
}
