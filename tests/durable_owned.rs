//! What a worker writes for a run it owns and what a `RunClient` reads of it, watched
//! through a store that records its compactions and can hide the stream for a while.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen::persist::{
    async_trait, InboxMessage, JournalEntry, Lease, Notices, PersistError, RunInfo, RunStatus,
    SerializedEvent, SnapshotStatus,
};
use blazen::prelude::*;
use blazen::{RunClient, RunStore, Worker};
use futures::StreamExt;
use uuid::Uuid;

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;
use rt::{ev, step, Num};

/// An `EmbeddedStore` that records each compaction (the snapshot's status, whether it was
/// written) and, while `hidden` is set, reads no stream events until the next `status`.
#[derive(Debug, Clone)]
struct Watched {
    store: EmbeddedStore,
    compactions: Arc<Mutex<Vec<(SnapshotStatus, bool)>>>,
    hidden: Arc<AtomicBool>,
}

impl Watched {
    fn open(dir: &std::path::Path) -> Self {
        Watched {
            store: EmbeddedStore::open(dir.join("runs.db")).unwrap(),
            compactions: Arc::default(),
            hidden: Arc::default(),
        }
    }
}

#[async_trait]
impl CheckpointStore for Watched {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        self.store.save(snapshot).await
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
impl RunStore for Watched {
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
        let written = self.store.compact(lease, snapshot).await;
        self.compactions
            .lock()
            .unwrap()
            .push((snapshot.status, written.is_ok()));
        written
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
        if self.hidden.load(Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        self.store.read_stream(run_id, from, limit).await
    }
    async fn status(&self, run_id: Uuid) -> Result<Option<RunStatus>, PersistError> {
        self.hidden.store(false, Ordering::SeqCst);
        self.store.status(run_id).await
    }
    async fn notices(&self) -> Result<Notices, PersistError> {
        self.store.notices().await
    }
}

/// A run that writes `n` numbers to its stream, then stops.
fn counting(n: u64) -> Workflow {
    Workflow::builder("owned-count")
        .step(
            step("count", move |ctx: Context, _: StartEvent| async move {
                for i in 0..n {
                    ctx.write_event_to_stream(Num { n: i });
                }
                Ok::<_, WorkflowError>(StopEvent::new(json!(n)))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("blazen-{label}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compacting after every entry, a finished run's last entry is compacted once: the
/// compaction of a finished snapshot ends the ownership, so a second one would be fenced
/// (and log "final checkpoint not saved").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_run_compacting_after_every_entry_is_compacted_once() {
    let dir = temp_dir("owned-compact");
    let store = Watched::open(&dir);
    let worker = Worker::builder(store.clone())
        .workflow(counting(3))
        .compact_every(1)
        .start()
        .await
        .unwrap();
    let handler = worker.run("owned-count", json!({})).await.unwrap();
    let run_id = handler.run_id();
    assert_eq!(handler.result().await.unwrap().result, json!(3));
    worker.shutdown().await;

    let compactions = store.compactions.lock().unwrap().clone();
    assert!(
        compactions.iter().all(|(_, written)| *written),
        "every compaction written: {compactions:?}"
    );
    let finished: Vec<_> = compactions
        .iter()
        .filter(|(status, _)| *status == SnapshotStatus::Completed)
        .collect();
    assert_eq!(finished.len(), 1, "{compactions:?}");
    let status = RunClient::new(store).status(run_id).await.unwrap();
    assert_eq!(status.status, SnapshotStatus::Completed);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reader that finds nothing new, then sees the run finished, reads everything the run
/// wrote meanwhile, however many events that is (more than one read's worth).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_gets_every_event_written_before_it_saw_the_run_finished() {
    const EVENTS: u64 = 600;
    let dir = temp_dir("owned-events");
    let store = Watched::open(&dir);
    let worker = Worker::builder(store.clone())
        .workflow(counting(EVENTS))
        .start()
        .await
        .unwrap();
    let handler = worker.run("owned-count", json!({})).await.unwrap();
    let run_id = handler.run_id();
    handler.result().await.unwrap();
    worker.shutdown().await;

    // The reader's first read finds nothing, as if the run wrote its events right after.
    store.hidden.store(true, Ordering::SeqCst);
    let client = RunClient::new(store);
    let read: Vec<(u64, DynamicEvent)> = tokio::time::timeout(
        Duration::from_secs(20),
        client.events(run_id, 0).map(|r| r.unwrap()).collect(),
    )
    .await
    .expect("the stream ends once the run is finished");
    let numbers: Vec<u64> = read
        .iter()
        .filter(|(_, e)| e.event_type() == "Num")
        .map(|(_, e)| e.to_json()["n"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..EVENTS).collect::<Vec<_>>());
    assert_eq!(read.last().unwrap().1.event_type(), StopEvent::EVENT_TYPE);
    let _ = std::fs::remove_dir_all(&dir);
}
