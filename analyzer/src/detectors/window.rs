//! A fixed-capacity ring of the most recent values, oldest first when read.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recent<T> {
    capacity: usize,
    items: VecDeque<T>,
}

impl<T: Copy> Recent<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Recent {
            capacity: capacity.max(1),
            items: VecDeque::with_capacity(capacity.max(1)),
        }
    }

    /// Adds `item`, dropping the oldest when full.
    pub(crate) fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.items.len() == self.capacity
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    pub(crate) fn last(&self) -> Option<T> {
        self.items.back().copied()
    }

    /// Bytes held, counting the full capacity.
    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.capacity * std::mem::size_of::<T>()
    }
}
