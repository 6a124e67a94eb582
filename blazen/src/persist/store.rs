//! The [`CheckpointStore`] trait: where snapshots of runs are kept.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::error::PersistError;
use super::snapshot::{SnapshotStatus, WorkflowSnapshot};

/// One run in a store, as [`CheckpointStore::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunInfo {
    /// The run.
    pub run_id: Uuid,
    /// The workflow's name.
    pub workflow: String,
    /// Where the run stood at its last save.
    pub status: SnapshotStatus,
    /// When the run was last saved, in milliseconds since the Unix epoch.
    pub updated_at_ms: u64,
}

impl RunInfo {
    /// The description of a run.
    pub fn new(
        run_id: Uuid,
        workflow: impl Into<String>,
        status: SnapshotStatus,
        updated_at_ms: u64,
    ) -> Self {
        RunInfo {
            run_id,
            workflow: workflow.into(),
            status,
            updated_at_ms,
        }
    }
}

/// Where snapshots of runs are kept: one snapshot per run id, replaced on every save.
///
/// A workflow built with `.checkpoint(store)` saves its run's snapshot after every step
/// completion; `wf.resume_from(&store, run_id)` continues a run from its last snapshot,
/// also in another process.
///
/// # Contract for implementations
/// - [`save`](Self::save) replaces the run's snapshot atomically and durably: once it
///   returns `Ok`, a crash (even SIGKILL or power loss, as far as the backend allows)
///   leaves either this snapshot or a later one, never a torn or an earlier one.
/// - Everything is keyed by run id; nothing assumes a single process or a single machine
///   (several processes may share a store, as with a PostgreSQL table keyed by run id with
///   a workflow-name column). Concurrent saves of one run: the last one wins.
/// - [`load`](Self::load) refuses a snapshot written in another format version with
///   [`PersistError::UnsupportedFormat`].
/// - Methods are `async`: a store that does blocking I/O (like [`EmbeddedStore`]) moves it
///   to a blocking thread, so callers may `.await` them on any Tokio worker.
/// - The trait is object safe: a workflow keeps its store as `Arc<dyn CheckpointStore>`.
///
/// [`EmbeddedStore`]: super::EmbeddedStore
///
/// ```
/// use blazen::persist::{CheckpointStore, InMemoryStore, WorkflowSnapshot};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), blazen::persist::PersistError> {
/// let store: Arc<dyn CheckpointStore> = Arc::new(InMemoryStore::new());
/// let snap = WorkflowSnapshot::new("wf", "v1:abc", uuid::Uuid::new_v4());
/// store.save(&snap).await?;
/// assert_eq!(store.load(snap.run_id).await?, Some(snap.clone()));
/// assert_eq!(store.list().await?.len(), 1);
/// assert!(store.delete(snap.run_id).await?);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait CheckpointStore: Send + Sync + fmt::Debug {
    /// Saves `snapshot` as the latest state of run `snapshot.run_id`, replacing any earlier
    /// one atomically and durably.
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError>;

    /// The latest snapshot of `run_id`, or `None` if the store has none.
    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError>;

    /// Every run in the store, most recently saved first.
    async fn list(&self) -> Result<Vec<RunInfo>, PersistError>;

    /// Removes the run's snapshot; `true` if there was one.
    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError>;
}

#[async_trait]
impl<T: CheckpointStore + ?Sized> CheckpointStore for Arc<T> {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        (**self).save(snapshot).await
    }
    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        (**self).load(run_id).await
    }
    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        (**self).list().await
    }
    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        (**self).delete(run_id).await
    }
}

#[async_trait]
impl<T: CheckpointStore + ?Sized> CheckpointStore for &T {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        (**self).save(snapshot).await
    }
    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        (**self).load(run_id).await
    }
    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        (**self).list().await
    }
    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        (**self).delete(run_id).await
    }
}
