//! Replays every file of the checked-in fuzz corpus (`fuzz/corpus/<target>/*`) through the
//! body of its fuzz target, as an ordinary test: no timed fuzzing, the same invariants
//! (`fuzz/src/`, shared with `fuzz/fuzz_targets/`). Fuzzing itself: see the README.

#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz_bodies;

use std::path::Path;

#[test]
fn every_corpus_file_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for target in fuzz_bodies::TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {target}");
        for file in files {
            let data = std::fs::read(&file).expect("a corpus file");
            let outcome = std::panic::catch_unwind(|| fuzz_bodies::run_target(target, &data));
            assert!(outcome.is_ok(), "{target}: {} fails", file.display());
        }
    }
}

/// Writes the seed snapshots of `fuzz/corpus/snapshot_resume/`: every checkpoint of runs of
/// the fixed workflow, a paused run, and a snapshot of an unknown format version.
#[tokio::test]
#[ignore = "writes the seed corpus"]
async fn write_snapshot_seeds() {
    use blazen::persist::{async_trait, PersistError, RunInfo};
    use blazen::prelude::*;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone, Default)]
    struct Recording {
        inner: InMemoryStore,
        saved: Arc<Mutex<Vec<WorkflowSnapshot>>>,
    }

    #[async_trait]
    impl CheckpointStore for Recording {
        async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
            self.saved.lock().unwrap().push(snapshot.clone());
            self.inner.save(snapshot).await
        }
        async fn load(&self, run_id: uuid::Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
            self.inner.load(run_id).await
        }
        async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
            self.inner.list().await
        }
        async fn delete(&self, run_id: uuid::Uuid) -> Result<bool, PersistError> {
            self.inner.delete(run_id).await
        }
    }

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/snapshot_resume");
    std::fs::create_dir_all(&dir).unwrap();
    let store = Recording::default();
    let wf = fuzz_bodies::snapshot_resume::checkpointed(store.clone());
    for text in ["One two. Three four five. Six.", "", "Just one"] {
        let handler = wf.run(serde_json::json!({ "text": text })).await.unwrap();
        let _ = handler.result().await;
    }
    let handler = wf
        .run(serde_json::json!({ "text": "Paused here. At once." }))
        .await
        .unwrap();
    let paused = handler.pause().await.unwrap();
    let mut snapshots = store.saved.lock().unwrap().clone();
    snapshots.push(paused);
    for (i, snapshot) in snapshots.iter().enumerate() {
        std::fs::write(
            dir.join(format!("run_{i:02}.json")),
            snapshot.to_vec().unwrap(),
        )
        .unwrap();
    }
    let mut other = serde_json::to_value(&snapshots[0]).unwrap();
    other["format_version"] = serde_json::json!(99);
    std::fs::write(dir.join("format_99.json"), other.to_string()).unwrap();
}
