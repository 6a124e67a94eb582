//! Retention: how long a store keeps finished runs.
//!
//! Without it, every run's rows stay forever. [`Retained`] wraps any store and, after a
//! finished run's last write, deletes it at once ([`Retention::delete_on_completion`]) or,
//! at most once per [`Retention::every`], prunes the finished runs older than
//! [`Retention::keep_for`] or beyond the newest [`Retention::keep_last`]. Runs that are not
//! finished are never touched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use super::error::PersistError;
use super::journal::JournalEntry;
use super::ownership::{InboxMessage, Lease, Notices, RunStatus, RunStore};
use super::snapshot::{now_ms, SerializedEvent, WorkflowSnapshot};
use super::store::{CheckpointStore, RunInfo};

/// Which finished runs a store keeps, applied by [`Retained`] (which wraps any store); runs that
/// are not finished are never touched.
///
/// ```
/// use std::time::Duration;
/// use blazen::persist::{InMemoryStore, Retained, Retention};
///
/// let store = Retained::new(
///     InMemoryStore::new(),
///     Retention::keep_for(Duration::from_secs(7 * 24 * 3600)).keep_last(10_000),
/// );
/// # let _ = store;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Delete a finished run older than this (by its last write).
    pub keep_for: Option<Duration>,
    /// Keep at most this many finished runs (the most recent).
    pub keep_last: Option<usize>,
    /// Delete a run as soon as it finishes (its outcome is gone with it).
    pub delete_on_completion: bool,
    /// Prune at most this often (default one minute): pruning lists the store's runs.
    pub every: Duration,
}

impl Retention {
    const EVERY: Duration = Duration::from_secs(60);

    /// Keeps finished runs for `keep_for` after their last write.
    pub fn keep_for(keep_for: Duration) -> Self {
        Retention {
            keep_for: Some(keep_for),
            keep_last: None,
            delete_on_completion: false,
            every: Self::EVERY,
        }
    }

    /// Keeps the `n` most recently finished runs.
    pub fn keep_last_only(n: usize) -> Self {
        Retention {
            keep_for: None,
            keep_last: Some(n),
            delete_on_completion: false,
            every: Self::EVERY,
        }
    }

    /// Deletes each run as soon as it finishes.
    pub fn delete_on_completion() -> Self {
        Retention {
            keep_for: None,
            keep_last: None,
            delete_on_completion: true,
            every: Self::EVERY,
        }
    }

    /// Also keeps at most `n` finished runs.
    #[must_use]
    pub fn keep_last(mut self, n: usize) -> Self {
        self.keep_last = Some(n);
        self
    }

    /// Prunes at most once per `every`.
    #[must_use]
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }
}

/// Deletes the finished runs of `store` that `retention` does not keep (whatever its
/// [`every`](Retention::every)); returns how many. Unfinished runs are never deleted.
pub async fn prune(
    store: &(impl CheckpointStore + ?Sized),
    retention: &Retention,
) -> Result<usize, PersistError> {
    let mut finished: Vec<RunInfo> = store
        .list()
        .await?
        .into_iter()
        .filter(|r| r.status.is_finished())
        .collect();
    finished.sort_by_key(|r| std::cmp::Reverse(r.updated_at_ms));
    let cutoff = retention
        .keep_for
        .map(|d| now_ms().saturating_sub(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)));
    let mut deleted = 0;
    for (i, run) in finished.iter().enumerate() {
        let too_old = cutoff.is_some_and(|c| run.updated_at_ms < c);
        let too_many = retention.keep_last.is_some_and(|n| i >= n);
        if (too_old || too_many || retention.delete_on_completion)
            && store.delete(run.run_id).await?
        {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// A store that applies a [`Retention`] after each finished run's last write. Cheap to
/// clone when the store is; a [`RunStore`] when the store is one.
#[derive(Debug, Clone)]
pub struct Retained<S> {
    store: S,
    retention: Retention,
    /// When the last prune ran, in milliseconds since the Unix epoch.
    last_prune: Arc<AtomicU64>,
}

impl<S: CheckpointStore> Retained<S> {
    /// `store`, keeping finished runs as `retention` says.
    pub fn new(store: S, retention: Retention) -> Self {
        Retained {
            store,
            retention,
            last_prune: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// After `snapshot` was written: applies the retention if it finished the run.
    async fn finished(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        if !snapshot.status.is_finished() {
            return Ok(());
        }
        if self.retention.delete_on_completion {
            self.store.delete(snapshot.run_id).await?;
            return Ok(());
        }
        let now = now_ms();
        let every = u64::try_from(self.retention.every.as_millis()).unwrap_or(u64::MAX);
        let last = self.last_prune.load(Ordering::Relaxed);
        if now.saturating_sub(last) < every
            || self
                .last_prune
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        prune(&self.store, &self.retention).await.map(|_| ())
    }
}

#[async_trait]
impl<S: CheckpointStore> CheckpointStore for Retained<S> {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        self.store.save(snapshot).await?;
        self.finished(snapshot).await
    }
    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        self.store.load(run_id).await
    }
    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        self.store.list().await
    }
    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        self.store.delete(run_id).await
    }
}

#[async_trait]
impl<S: RunStore> RunStore for Retained<S> {
    async fn create(
        &self,
        snapshot: &WorkflowSnapshot,
        owner: &str,
        lease: Duration,
    ) -> Result<Lease, PersistError> {
        self.store.create(snapshot, owner, lease).await
    }
    async fn append(&self, lease: &Lease, entry: &JournalEntry) -> Result<u64, PersistError> {
        self.store.append(lease, entry).await
    }
    async fn compact(
        &self,
        lease: &Lease,
        snapshot: &WorkflowSnapshot,
    ) -> Result<(), PersistError> {
        self.store.compact(lease, snapshot).await?;
        self.finished(snapshot).await
    }
    async fn renew(
        &self,
        owner: &str,
        runs: &[Lease],
        lease: Duration,
    ) -> Result<Vec<Uuid>, PersistError> {
        self.store.renew(owner, runs, lease).await
    }
    async fn claim(
        &self,
        owner: &str,
        workflows: &[String],
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Lease>, PersistError> {
        self.store.claim(owner, workflows, lease, limit).await
    }
    async fn release(&self, lease: &Lease, handover: bool) -> Result<(), PersistError> {
        self.store.release(lease, handover).await
    }
    async fn post(&self, run_id: Uuid, message: &InboxMessage) -> Result<(), PersistError> {
        self.store.post(run_id, message).await
    }
    async fn read_inbox(
        &self,
        lease: &Lease,
        after: u64,
    ) -> Result<Vec<(u64, InboxMessage)>, PersistError> {
        self.store.read_inbox(lease, after).await
    }
    async fn read_stream(
        &self,
        run_id: Uuid,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, SerializedEvent)>, PersistError> {
        self.store.read_stream(run_id, from, limit).await
    }
    async fn status(&self, run_id: Uuid) -> Result<Option<RunStatus>, PersistError> {
        self.store.status(run_id).await
    }
    async fn notices(&self) -> Result<Notices, PersistError> {
        self.store.notices().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::{InMemoryStore, SnapshotStatus};

    fn finished(workflow: &str) -> WorkflowSnapshot {
        let mut snap = WorkflowSnapshot::new(workflow, "v1:x", Uuid::new_v4());
        snap.status = SnapshotStatus::Completed;
        snap
    }

    #[tokio::test]
    async fn delete_on_completion_keeps_only_unfinished_runs() {
        let store = Retained::new(InMemoryStore::new(), Retention::delete_on_completion());
        let running = WorkflowSnapshot::new("wf", "v1:x", Uuid::new_v4());
        store.save(&running).await.unwrap();
        store.save(&finished("wf")).await.unwrap();
        let left = store.list().await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].run_id, running.run_id);
    }

    #[tokio::test]
    async fn keep_last_prunes_the_oldest_finished_runs() {
        let inner = InMemoryStore::new();
        let running = WorkflowSnapshot::new("wf", "v1:x", Uuid::new_v4());
        inner.save(&running).await.unwrap();
        for _ in 0..5 {
            inner.save(&finished("wf")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let store = Retained::new(inner.clone(), Retention::keep_last_only(2));
        let newest = finished("wf");
        store.save(&newest).await.unwrap();
        let left = inner.list().await.unwrap();
        assert_eq!(left.len(), 3, "the running one and two finished: {left:?}");
        assert!(left.iter().any(|r| r.run_id == running.run_id));
        assert!(left.iter().any(|r| r.run_id == newest.run_id));
        // The next prune waits for `every`.
        store.save(&finished("wf")).await.unwrap();
        assert_eq!(inner.list().await.unwrap().len(), 4);
    }

    #[tokio::test]
    async fn keep_for_spares_recent_runs() {
        let inner = InMemoryStore::new();
        inner.save(&finished("wf")).await.unwrap();
        let kept = prune(&inner, &Retention::keep_for(Duration::from_secs(60)))
            .await
            .unwrap();
        assert_eq!(kept, 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let gone = prune(&inner, &Retention::keep_for(Duration::from_millis(1)))
            .await
            .unwrap();
        assert_eq!(gone, 1);
        assert!(inner.list().await.unwrap().is_empty());
    }
}
