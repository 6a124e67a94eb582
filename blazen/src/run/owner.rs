//! The writer of a run owned through a lease ([`RunStore`]): journal entries fenced by the
//! lease's epoch, compaction every few entries, the stream events to store, release.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::event::Event;
use crate::persist::{
    JournalEntry, Lease, PersistError, RunStore, SerializedEvent, WorkflowSnapshot,
};
use crate::sync::lock;

/// How a run owned by a worker left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Left {
    /// It finished (completed, failed, cancelled): the store has its outcome.
    Finished,
    /// It paused, or was released while it waits for outside input.
    Released,
    /// Its lease was lost (fenced) or the worker gave it up: it wrote nothing more.
    Abandoned,
}

/// What the worker tells the runtime about a run it owns, and how the router reports back.
pub(crate) struct Ownership {
    store: Arc<dyn RunStore>,
    lease: Lease,
    /// Compact the journal into a snapshot after this many entries.
    compact_every: u64,
    /// Release the run after it only waited for outside input this long.
    pub(crate) idle_release: Option<Duration>,
    /// Stream events written since the last journal entry, with their positions.
    stream: Mutex<Vec<(u64, SerializedEvent)>>,
    /// Entries appended since the last compaction.
    since_compaction: AtomicU64,
    /// The last inbox message the router has taken in (0: none): the next entry removes
    /// the messages up to it from the store's inbox.
    inbox_through: AtomicU64,
    /// The last inbox message an appended entry removed (0: none): a later entry removes
    /// messages only past it.
    inbox_removed: AtomicU64,
    left: mpsc::UnboundedSender<(Uuid, Left)>,
}

impl std::fmt::Debug for Ownership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ownership")
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Ownership {
    pub(crate) fn new(
        store: Arc<dyn RunStore>,
        lease: Lease,
        compact_every: u64,
        idle_release: Option<Duration>,
        left: mpsc::UnboundedSender<(Uuid, Left)>,
    ) -> Self {
        Ownership {
            store,
            lease,
            compact_every: compact_every.max(1),
            idle_release,
            stream: Mutex::new(Vec::new()),
            since_compaction: AtomicU64::new(0),
            inbox_through: AtomicU64::new(0),
            inbox_removed: AtomicU64::new(0),
            left,
        }
    }

    /// Keeps a stream event, at `position`, for the next journal entry.
    pub(crate) fn log_stream(&self, position: u64, event: &dyn Event) {
        lock(&self.stream).push((position, SerializedEvent::from_event(event)));
    }

    /// Appends `entry` with the stream events logged since the last one; compacts with
    /// `snapshot()` when enough entries accumulated.
    pub(crate) async fn append(
        &self,
        entry: JournalEntry,
        snapshot: impl FnOnce() -> WorkflowSnapshot,
    ) -> Result<(), PersistError> {
        self.write(entry).await?;
        if self.since_compaction.fetch_add(1, Ordering::Relaxed) + 1 >= self.compact_every {
            self.compact(&snapshot()).await?;
        }
        Ok(())
    }

    /// The last entry of a finished run, then its compaction into `snapshot` (once: a
    /// finished snapshot ends the ownership, so a second compaction would be fenced).
    pub(crate) async fn finish(
        &self,
        entry: JournalEntry,
        snapshot: &WorkflowSnapshot,
    ) -> Result<(), PersistError> {
        self.write(entry).await?;
        self.compact(snapshot).await
    }

    /// Appends `entry` with the stream events logged since the last one.
    async fn write(&self, mut entry: JournalEntry) -> Result<(), PersistError> {
        let mut stream = std::mem::take(&mut *lock(&self.stream));
        // Positions are taken by concurrent writers: store them in order.
        stream.sort_by_key(|(p, _)| *p);
        entry.stream = stream;
        let through = self.inbox_through.load(Ordering::Relaxed);
        let removed = self.inbox_removed.load(Ordering::Relaxed);
        entry.inbox_through = (through > removed).then_some(through);
        self.store.append(&self.lease, &entry).await?;
        // Only once the append succeeded: after a failed one the next entry removes them.
        if let Some(through) = entry.inbox_through {
            self.inbox_removed.fetch_max(through, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The router took in the inbox messages up to `id`.
    pub(crate) fn took_inbox(&self, id: u64) {
        self.inbox_through.fetch_max(id, Ordering::Relaxed);
    }

    /// Replaces the journal with `snapshot`.
    pub(crate) async fn compact(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        self.store.compact(&self.lease, snapshot).await?;
        self.since_compaction.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Gives the run up (see [`RunStore::release`]).
    pub(crate) async fn release(&self, handover: bool) -> Result<(), PersistError> {
        self.store.release(&self.lease, handover).await
    }

    /// Tells the worker how the run left this process.
    pub(crate) fn left(&self, how: Left) {
        let _ = self.left.send((self.lease.run_id, how));
    }
}
