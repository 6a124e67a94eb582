//! The run-ownership contract: leases with fencing, takeover, an inbox per run, stored
//! streams and wake-ups — what lets several processes (replicas) share runs through one store.
//!
//! A run in a [`RunStore`] is owned by at most one worker at a time through a [`Lease`]:
//! owner, expiry and an *epoch* that every takeover increments. Every write of the owner
//! ([`append`](RunStore::append), [`compact`](RunStore::compact),
//! [`read_inbox`](RunStore::read_inbox), [`release`](RunStore::release)) is conditional on its
//! epoch: a worker that lost its lease (paused past its expiry, cut off by a partition) gets
//! [`PersistError::Fenced`] and must abandon the run; it never overwrites the new owner's
//! progress.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::PersistError;
use super::journal::JournalEntry;
use super::snapshot::{SerializedEvent, SnapshotStatus, WorkflowSnapshot};
use super::store::CheckpointStore;

/// A worker's hold on a run: valid while `epoch` is the run's current epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lease {
    /// The run.
    pub run_id: Uuid,
    /// The workflow the run belongs to.
    pub workflow: String,
    /// The owning worker's id.
    pub owner: String,
    /// Incremented by every claim: the fencing token of this hold.
    pub epoch: u64,
}

impl Lease {
    /// A lease (stores build them; tests may too).
    pub fn new(
        run_id: Uuid,
        workflow: impl Into<String>,
        owner: impl Into<String>,
        epoch: u64,
    ) -> Self {
        Lease {
            run_id,
            workflow: workflow.into(),
            owner: owner.into(),
            epoch,
        }
    }
}

/// A message to a run from outside, kept in its inbox until its owner takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InboxMessage {
    /// An event to route in the run (`RunClient::send_event`).
    Event {
        /// The event.
        event: SerializedEvent,
    },
    /// An answer to an input request (`RunClient::respond`).
    Respond {
        /// The request answered.
        request_id: Uuid,
        /// The answer.
        response: Value,
    },
    /// Cancel the run (`RunClient::cancel`).
    Cancel,
}

/// Where a run stands in a [`RunStore`], as `RunClient::status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunStatus {
    /// The run.
    pub run_id: Uuid,
    /// Its workflow.
    pub workflow: String,
    /// Its status at the last checkpoint.
    pub status: SnapshotStatus,
    /// The worker holding it now (`None`: released, or its owner's lease ran out).
    pub owner: Option<String>,
    /// The current epoch.
    pub epoch: u64,
    /// When the lease ends, in milliseconds since the Unix epoch.
    pub lease_until_ms: u64,
    /// When the run was last checkpointed, in milliseconds since the Unix epoch.
    pub updated_at_ms: u64,
    /// Whether a cancellation was asked for and not yet carried out.
    pub cancel_requested: bool,
}

/// A wake-up from the store: something happened to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A message reached the run's inbox (its owner takes it; if it has none, a worker may
    /// claim the run).
    Inbox(Uuid),
    /// The run wrote stream events or finished (readers of its stream look again).
    Stream(Uuid),
    /// A run became claimable (released with work to do, or its owner handed it over).
    Claimable(Uuid),
}

/// The wake-ups of a store, for as long as the stream is held. A store without push
/// notifications polls; a consumer must re-check the store after a gap (a notice may be
/// lost while disconnected), so these are hints, never the only source of truth.
pub type Notices = Pin<Box<dyn Stream<Item = Notice> + Send>>;

/// A store whose runs several workers share: leases with fencing, takeover, inboxes,
/// stored streams, wake-ups. `PostgresStore` (cargo feature `postgres`) shares runs across
/// machines; [`EmbeddedStore`](super::EmbeddedStore) across the processes of one machine.
///
/// # Contract
/// - [`CheckpointStore::save`] of a run replaces its snapshot and drops its journal (an
///   unfenced compaction, for runs not owned through leases).
/// - A run's snapshot ([`CheckpointStore::load`]) is its last compacted snapshot with the
///   later journal entries applied, in order.
/// - Writes of an owner are conditional on its lease's epoch; a stale epoch gives
///   [`PersistError::Fenced`] and changes nothing.
/// - [`claim`](Self::claim) hands each claimable run to exactly one caller (no double
///   claims under concurrency) and increments its epoch.
/// - Stream events are stored with their positions; [`read_stream`](Self::read_stream)
///   returns them in order, each once.
#[async_trait]
pub trait RunStore: CheckpointStore {
    /// Records a new run owned by `owner` for `lease` from now: its first snapshot, epoch 1.
    async fn create(
        &self,
        snapshot: &WorkflowSnapshot,
        owner: &str,
        lease: Duration,
    ) -> Result<Lease, PersistError>;

    /// Appends one checkpoint to the run's journal (and its stream events), and removes the
    /// inbox messages up to [`JournalEntry::inbox_through`], in one transaction, if `lease`
    /// still holds. Returns the number of entries since the last
    /// compaction.
    async fn append(&self, lease: &Lease, entry: &JournalEntry) -> Result<u64, PersistError>;

    /// Replaces the run's snapshot with `snapshot` (the journal applied) and drops the
    /// journal entries it contains, if `lease` still holds. A finished snapshot (completed,
    /// failed, cancelled) also ends the ownership: nobody claims a finished run.
    async fn compact(&self, lease: &Lease, snapshot: &WorkflowSnapshot)
        -> Result<(), PersistError>;

    /// Extends the leases of `owner` on `runs` to `lease` from now. Returns the runs it no
    /// longer holds (taken over, or finished): their executions must stop.
    async fn renew(
        &self,
        owner: &str,
        runs: &[Lease],
        lease: Duration,
    ) -> Result<Vec<Uuid>, PersistError>;

    /// Claims up to `limit` runs of `workflows` that are claimable — not finished, and either
    /// their owner's lease expired, or they were released and have work to do (a message in
    /// their inbox, or handed over at shutdown) — for `owner`, for `lease` from now, each
    /// with its epoch incremented.
    async fn claim(
        &self,
        owner: &str,
        workflows: &[String],
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Lease>, PersistError>;

    /// Gives the run up. `handover`: a live worker should claim it at once (shutdown);
    /// otherwise it is idle (waits for outside input) and becomes claimable when a message
    /// reaches its inbox.
    async fn release(&self, lease: &Lease, handover: bool) -> Result<(), PersistError>;

    /// Puts `message` in the run's inbox and wakes its owner, or makes an unowned run
    /// claimable. Fails with [`PersistError::RunNotFound`] for an unknown run; a message to
    /// a finished run is refused with [`PersistError::Finished`].
    async fn post(&self, run_id: Uuid, message: &InboxMessage) -> Result<(), PersistError>;

    /// The messages in the run's inbox with ids above `after`, oldest first, each with its
    /// id, if `lease` still holds. Reading removes nothing: a message leaves the inbox with
    /// the journal entry that records it ([`JournalEntry::inbox_through`]), so a message read
    /// by an owner that dies before its next checkpoint is read again by the next owner.
    async fn read_inbox(
        &self,
        lease: &Lease,
        after: u64,
    ) -> Result<Vec<(u64, InboxMessage)>, PersistError>;

    /// Up to `limit` stream events of the run from position `from`, in order.
    async fn read_stream(
        &self,
        run_id: Uuid,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, SerializedEvent)>, PersistError>;

    /// Where the run stands, or `None` if the store does not know it.
    async fn status(&self, run_id: Uuid) -> Result<Option<RunStatus>, PersistError>;

    /// Wake-ups of this store (see [`Notices`]).
    async fn notices(&self) -> Result<Notices, PersistError>;
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "run {} (epoch {}, owner {})",
            self.run_id, self.epoch, self.owner
        )
    }
}
