//! The bound of a run's event stream and its lag markers.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::msg::StreamMsg;
use crate::event::Event;
use crate::sync::lock;

/// The bound of a run's event stream (see `WorkflowBuilder::stream_capacity`): how many
/// events may wait unread, and the lag marker of the overflow going on.
#[derive(Debug)]
pub(crate) struct StreamLimit {
    capacity: usize,
    /// Events sent and not yet read.
    pending: AtomicUsize,
    /// The marker of the overflow going on, if any: writers count missed events into it while
    /// the reader is behind; the reader closes it when it reaches it.
    open: Mutex<Option<Arc<AtomicU64>>>,
}

impl StreamLimit {
    pub(crate) fn new(capacity: usize) -> Self {
        StreamLimit {
            capacity: capacity.max(1),
            pending: AtomicUsize::new(0),
            open: Mutex::new(None),
        }
    }

    /// Sends `event`, or counts it as missed when the reader is `capacity` events behind (the
    /// first miss of an overflow puts a marker in the stream at that point).
    pub(crate) fn publish(&self, tx: &mpsc::UnboundedSender<StreamMsg>, event: Box<dyn Event>) {
        let mut open = lock(&self.open);
        if self.pending.load(Ordering::Acquire) < self.capacity {
            *open = None;
            self.pending.fetch_add(1, Ordering::AcqRel);
            let _ = tx.send(StreamMsg::Event(event));
            return;
        }
        match open.as_ref() {
            Some(missed) => {
                missed.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                let missed = Arc::new(AtomicU64::new(1));
                let _ = tx.send(StreamMsg::Lagged(Arc::clone(&missed)));
                *open = Some(missed);
            }
        }
    }

    /// Sends `event` whatever the bound (input requests: never dropped).
    pub(crate) fn publish_always(
        &self,
        tx: &mpsc::UnboundedSender<StreamMsg>,
        event: Box<dyn Event>,
    ) {
        let _open = lock(&self.open);
        self.pending.fetch_add(1, Ordering::AcqRel);
        let _ = tx.send(StreamMsg::Event(event));
    }

    /// The reader took an event.
    pub(crate) fn took_event(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// The reader reached a marker: how many events it stands for (later misses need a new
    /// marker, after the events sent since).
    pub(crate) fn took_marker(&self, marker: &Arc<AtomicU64>) -> u64 {
        let mut open = lock(&self.open);
        if open.as_ref().is_some_and(|m| Arc::ptr_eq(m, marker)) {
            *open = None;
        }
        marker.load(Ordering::Relaxed)
    }
}
