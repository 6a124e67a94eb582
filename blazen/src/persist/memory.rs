//! [`InMemoryStore`]: a checkpoint store for tests and single-process runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use uuid::Uuid;

use super::error::PersistError;
use super::snapshot::{now_ms, SnapshotStatus, WorkflowSnapshot};
use super::store::{CheckpointStore, RunInfo};

#[derive(Debug)]
struct Entry {
    workflow: String,
    status: SnapshotStatus,
    updated_at_ms: u64,
    /// The snapshot as JSON: saving and loading go through the same encoding as a durable
    /// store, so a snapshot that would not survive a database does not survive here either.
    json: Vec<u8>,
}

/// A [`CheckpointStore`] in memory: nothing survives the process. Cheap to clone; clones
/// share the same runs.
///
/// ```
/// use blazen::persist::{CheckpointStore, InMemoryStore, WorkflowSnapshot};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), blazen::persist::PersistError> {
/// let store = InMemoryStore::new();
/// let snap = WorkflowSnapshot::new("wf", "v1:abc", uuid::Uuid::new_v4());
/// store.clone().save(&snap).await?;
/// assert_eq!(store.load(snap.run_id).await?, Some(snap));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    runs: Arc<Mutex<HashMap<Uuid, Entry>>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many runs the store holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no run.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Entry>> {
        // Each entry is replaced whole: a poisoned map is still consistent.
        crate::sync::lock(&self.runs)
    }
}

#[async_trait]
impl CheckpointStore for InMemoryStore {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        let entry = Entry {
            workflow: snapshot.workflow.clone(),
            status: snapshot.status,
            updated_at_ms: now_ms(),
            json: snapshot.to_vec()?,
        };
        self.lock().insert(snapshot.run_id, entry);
        Ok(())
    }

    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        let json = match self.lock().get(&run_id) {
            Some(entry) => entry.json.clone(),
            None => return Ok(None),
        };
        WorkflowSnapshot::from_slice(&json).map(Some)
    }

    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        let mut runs: Vec<RunInfo> = self
            .lock()
            .iter()
            .map(|(id, e)| RunInfo::new(*id, e.workflow.clone(), e.status, e.updated_at_ms))
            .collect();
        runs.sort_by(|a, b| {
            b.updated_at_ms
                .cmp(&a.updated_at_ms)
                .then(a.run_id.cmp(&b.run_id))
        });
        Ok(runs)
    }

    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        Ok(self.lock().remove(&run_id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn save_load_list_delete() {
        let store = InMemoryStore::new();
        assert!(store.is_empty());
        let mut a = WorkflowSnapshot::new("wa", "v1:a", Uuid::new_v4());
        a.state.insert("k".into(), json!(1));
        let b = WorkflowSnapshot::new("wb", "v1:b", Uuid::new_v4());
        store.save(&a).await.unwrap();
        store.save(&b).await.unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.load(a.run_id).await.unwrap(), Some(a.clone()));
        assert_eq!(store.load(Uuid::new_v4()).await.unwrap(), None);

        // Replace.
        a.state.insert("k".into(), json!(2));
        a.status = SnapshotStatus::Paused;
        store.clone().save(&a).await.unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.load(a.run_id).await.unwrap(), Some(a.clone()));

        let list = store.list().await.unwrap();
        assert_eq!(list.len(), 2);
        let info = list.iter().find(|r| r.run_id == a.run_id).unwrap();
        assert_eq!(info.workflow, "wa");
        assert_eq!(info.status, SnapshotStatus::Paused);
        assert!(list[0].updated_at_ms >= list[1].updated_at_ms);

        assert!(store.delete(a.run_id).await.unwrap());
        assert!(!store.delete(a.run_id).await.unwrap());
        assert_eq!(store.load(a.run_id).await.unwrap(), None);
        assert_eq!(store.list().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn usable_as_a_trait_object() {
        let store: Arc<dyn CheckpointStore> = Arc::new(InMemoryStore::new());
        let snap = WorkflowSnapshot::new("w", "v1:x", Uuid::new_v4());
        store.save(&snap).await.unwrap();
        assert_eq!(store.load(snap.run_id).await.unwrap(), Some(snap));
    }
}
