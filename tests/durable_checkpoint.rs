//! Checkpoints through the public API: one save per step completion, the embedded store
//! end to end, a failing store, and fan-in state of a collector that is still running when
//! a checkpoint is taken.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen::persist::{async_trait, PersistError, RunInfo, SnapshotStatus};
use blazen::prelude::*;
use blazen::WorkflowBuilder;
use rt::{ev, step, Done, Num, Word};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// An in-memory store that also records every snapshot saved, in order.
#[derive(Debug, Clone, Default)]
struct RecordingStore {
    inner: InMemoryStore,
    saved: Arc<Mutex<Vec<WorkflowSnapshot>>>,
}

impl RecordingStore {
    fn saved(&self) -> Vec<WorkflowSnapshot> {
        self.saved.lock().unwrap().clone()
    }
}

#[async_trait]
impl CheckpointStore for RecordingStore {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        self.saved.lock().unwrap().push(snapshot.clone());
        self.inner.save(snapshot).await
    }
    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        self.inner.load(run_id).await
    }
    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        self.inner.list().await
    }
    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        self.inner.delete(run_id).await
    }
}

/// A store whose saves fail.
#[derive(Debug)]
struct BrokenStore;

#[async_trait]
impl CheckpointStore for BrokenStore {
    async fn save(&self, _snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        Err(PersistError::backend("broken", "disk full"))
    }
    async fn load(&self, _run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        Ok(None)
    }
    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        Ok(Vec::new())
    }
    async fn delete(&self, _run_id: Uuid) -> Result<bool, PersistError> {
        Ok(false)
    }
}

/// start → 5 × Num → square → Done → sum (collects 5) → Stop.
fn fan_out() -> WorkflowBuilder {
    Workflow::builder("fan-out")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                ctx.set("started", &true)?;
                Ok::<_, WorkflowError>((1..=5).map(|n| Num { n }).collect::<Vec<_>>())
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("square", |ctx: Context, x: Num| async move {
                ctx.set(&format!("sq{}", x.n), &(x.n * x.n))?;
                Ok::<_, WorkflowError>(Done { n: x.n * x.n })
            })
            .max_concurrency(1)
            .emits(ev::<Done>()),
        )
        .step(
            step("sum", |ctx: Context, d: Done| async move {
                Ok::<_, WorkflowError>(
                    ctx.collect_events(d, 5)
                        .map(|all| StopEvent::new(json!(all.iter().map(|d| d.n).sum::<u64>()))),
                )
            })
            .emits(ev::<StopEvent>()),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_saved_after_every_step_completion() {
    let store = RecordingStore::default();
    let wf = fan_out().checkpoint(store.clone()).build().unwrap();
    let h = wf.run(json!({})).await.unwrap();
    assert_eq!(h.result().await.unwrap().result, json!(55));
    let run_id = h.run_id();

    // 11 step executions: start, 5 × square, 5 × sum. The last one emits the StopEvent and
    // ends the run, whose outcome is the final save.
    let saved = store.saved();
    let statuses: Vec<SnapshotStatus> = saved.iter().map(|s| s.status).collect();
    let mut expected = vec![SnapshotStatus::Running; 10];
    expected.push(SnapshotStatus::Completed);
    assert_eq!(statuses, expected);
    assert!(saved
        .iter()
        .all(|s| s.run_id == run_id && s.workflow == "fan-out"));
    assert!(saved.iter().all(|s| s.fingerprint == wf.fingerprint()));

    // The first checkpoint follows `start`: its state, and its five Num events either
    // handed to `square` (in flight, one at a time) or queued for it.
    let first = &saved[0];
    assert_eq!(first.state.get("started"), Some(&json!(true)));
    let nums = first
        .in_flight
        .iter()
        .chain(&first.queued)
        .filter(|e| e.event_type == "Num" && e.target_step.as_deref() == Some("square"))
        .count();
    assert_eq!(nums, 5, "{first:#?}");
    assert!(first.in_flight.len() <= 1, "max_concurrency 1: {first:#?}");

    // Progress is monotonic: squares stored, events outstanding.
    let squares: Vec<usize> = saved[..10]
        .iter()
        .map(|s| s.state.keys().filter(|k| k.starts_with("sq")).count())
        .collect();
    assert!(squares.windows(2).all(|w| w[0] <= w[1]), "{squares:?}");
    assert_eq!(squares[9], 5);
    // The last running checkpoint holds four Done collected (or their events outstanding).
    let last_running = &saved[9];
    let collected: usize = last_running.fan_in.iter().map(|b| b.events.len()).sum();
    let outstanding = last_running
        .in_flight
        .iter()
        .chain(&last_running.queued)
        .filter(|e| e.event_type == "Done")
        .count();
    assert_eq!(collected + outstanding, 5, "{last_running:#?}");

    let done = store.load(run_id).await.unwrap().unwrap();
    assert_eq!(done.status, SnapshotStatus::Completed);
    assert_eq!(done.result, Some(json!(55)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkpoint_resumes_to_the_uninterrupted_result() {
    // Each checkpoint is a point a crash could leave behind: all of them must finish with
    // the same result (steps in flight run again; this workflow's steps are idempotent).
    let store = RecordingStore::default();
    let wf = fan_out().checkpoint(store.clone()).build().unwrap();
    let h = wf.run(json!({})).await.unwrap();
    assert_eq!(h.result().await.unwrap().result, json!(55));
    let saved = store.saved();
    assert!(saved.len() >= 10);
    for (i, snap) in saved.into_iter().enumerate() {
        let snap = WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap();
        let fresh = InMemoryStore::new();
        fresh.save(&snap).await.unwrap();
        let wf = fan_out().checkpoint(fresh.clone()).build().unwrap();
        let resumed = wf.resume_from(&fresh, snap.run_id).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), resumed.result())
            .await
            .unwrap_or_else(|_| panic!("checkpoint {i} did not finish"));
        assert_eq!(
            result
                .unwrap_or_else(|e| panic!("checkpoint {i}: {e}"))
                .result,
            json!(55),
            "checkpoint {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_pauses_resumes_and_lists_runs() {
    let dir = std::env::temp_dir().join(format!("blazen-ckpt-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("runs.db");
    let store = EmbeddedStore::open(&db).unwrap();

    let gate = Arc::new(Semaphore::new(0));
    let build = |gate: Arc<Semaphore>, store: EmbeddedStore| {
        Workflow::builder("gate")
            .step(
                step("start", |_ctx, _s: StartEvent| async {
                    (1..=3).map(|n| Num { n }).collect::<Vec<_>>()
                })
                .emits(ev::<Num>()),
            )
            .step(
                step("work", move |_ctx, x: Num| {
                    let gate = Arc::clone(&gate);
                    async move {
                        gate.acquire().await.map_err(WorkflowError::other)?.forget();
                        Ok::<_, WorkflowError>(Done { n: x.n })
                    }
                })
                .max_concurrency(1)
                .emits(ev::<Done>()),
            )
            .step(
                step("sum", |ctx: Context, d: Done| async move {
                    Ok::<_, WorkflowError>(
                        ctx.collect_events(d, 3)
                            .map(|all| StopEvent::new(json!(all.iter().map(|d| d.n).sum::<u64>()))),
                    )
                })
                .emits(ev::<StopEvent>()),
            )
            .checkpoint(store)
            .build()
            .unwrap()
    };
    let wf = build(Arc::clone(&gate), store.clone());
    let h = Arc::new(wf.run(json!({})).await.unwrap());
    let run_id = h.run_id();
    gate.add_permits(1);
    let pausing = tokio::spawn({
        let h = Arc::clone(&h);
        async move { h.pause().await }
    });
    // The running `work` finishes once it has a permit; pause waits for it.
    tokio::time::sleep(Duration::from_millis(20)).await;
    gate.add_permits(1);
    let snap = pausing.await.unwrap().unwrap();
    assert_eq!(snap.status, SnapshotStatus::Paused);

    // The paused snapshot is in the store, also for a second handle on the file.
    let other = EmbeddedStore::open(&db).unwrap();
    assert_eq!(other.load(run_id).await.unwrap(), Some(snap.clone()));
    let runs = other.list().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].run_id, runs[0].workflow.as_str(), runs[0].status),
        (run_id, "gate", SnapshotStatus::Paused)
    );

    let wf2 = build(Arc::new(Semaphore::new(100)), other.clone());
    let resumed = wf2.resume_from(&other, run_id).await.unwrap();
    assert_eq!(resumed.result().await.unwrap().result, json!(6));
    assert_eq!(
        store.list().await.unwrap()[0].status,
        SnapshotStatus::Completed
    );
    // Resuming a finished run reports its outcome again.
    let again = wf2.resume_from(&store, run_id).await.unwrap();
    assert_eq!(again.result().await.unwrap().result, json!(6));
    assert!(store.delete(run_id).await.unwrap());
    assert!(matches!(
        wf2.resume_from(&store, run_id).await,
        Err(WorkflowError::Persist(PersistError::RunNotFound { .. }))
    ));
    drop((store, other, wf, wf2, h, resumed, again));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failing_store_fails_the_run_with_a_typed_error() {
    let wf = fan_out().checkpoint(BrokenStore).build().unwrap();
    let h = wf.run(json!({})).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), h.result())
        .await
        .expect("the run hung on a failing store")
        .unwrap_err();
    assert!(
        matches!(err, WorkflowError::Persist(PersistError::Backend { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("disk full"), "{err}");
}

/// A collector that gets its whole batch and then keeps working (say, an LLM call
/// summarising it) while another branch completes a step, which writes a checkpoint.
///
/// start → 3 × Num → work → Done → summarise (collects 3, then waits for `gate`) → Stop;
/// start → Word → tick (completes once `summarise` holds its batch).
fn slow_summary(gate: Arc<Semaphore>, summarising: Arc<AtomicUsize>) -> WorkflowBuilder {
    let ticking = Arc::clone(&summarising);
    Workflow::builder("slow-summary")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                let mut out: Vec<Box<dyn Event>> = (1..=3)
                    .map(|n| Box::new(Num { n }) as Box<dyn Event>)
                    .collect();
                out.push(Box::new(Word {
                    text: "tick".into(),
                    score: 0.0,
                }));
                rt::many(out)
            })
            .emits(ev::<Num>())
            .emits(ev::<Word>()),
        )
        .step(
            step("work", |_ctx, x: Num| async move { Done { n: x.n } })
                .max_concurrency(1)
                .emits(ev::<Done>()),
        )
        .step(
            step("summarise", move |ctx: Context, d: Done| {
                let (gate, summarising) = (Arc::clone(&gate), Arc::clone(&summarising));
                async move {
                    let Some(all) = ctx.collect_events(d, 3) else {
                        return Ok::<_, WorkflowError>(None);
                    };
                    summarising.fetch_add(1, Ordering::SeqCst);
                    gate.acquire().await.map_err(WorkflowError::other)?.forget();
                    Ok(Some(StopEvent::new(json!(all
                        .iter()
                        .map(|d| d.n)
                        .sum::<u64>()))))
                }
            })
            .emits(ev::<StopEvent>()),
        )
        .step(
            step("tick", move |_ctx, _w: Word| {
                let ticking = Arc::clone(&ticking);
                async move {
                    while ticking.load(Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    None::<StopEvent>
                }
            })
            .emits(ev::<StopEvent>()),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_still_running_after_taking_its_batch_survives_a_crash() {
    let store = RecordingStore::default();
    let gate = Arc::new(Semaphore::new(0));
    let summarising = Arc::new(AtomicUsize::new(0));
    let wf = slow_summary(Arc::clone(&gate), Arc::clone(&summarising))
        .checkpoint(store.clone())
        .build()
        .unwrap();
    let h = wf.run(json!({})).await.unwrap();

    // The checkpoint written when `tick` completed: `summarise` holds the batch and runs.
    let mut crash_point = None;
    for _ in 0..10_000 {
        crash_point = store.saved().into_iter().find(|s| {
            s.status == SnapshotStatus::Running
                && summarising.load(Ordering::SeqCst) == 1
                && !s
                    .in_flight
                    .iter()
                    .chain(&s.queued)
                    .any(|e| e.event_type != "Done")
        });
        if crash_point.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let crash_point = crash_point.expect("no checkpoint after `tick` completed");
    assert!(
        crash_point
            .in_flight
            .iter()
            .any(|e| e.target_step.as_deref() == Some("summarise")),
        "{crash_point:#?}"
    );

    // "Crash" here; a new process resumes that checkpoint.
    let fresh = InMemoryStore::new();
    fresh.save(&crash_point).await.unwrap();
    let wf2 = slow_summary(Arc::new(Semaphore::new(100)), Arc::new(AtomicUsize::new(1)))
        .checkpoint(fresh.clone())
        .build()
        .unwrap();
    let resumed = wf2.resume_from(&fresh, crash_point.run_id).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), resumed.result())
        .await
        .expect("the resumed run hung");
    assert_eq!(result.unwrap().result, json!(6));
    gate.add_permits(100);
    assert_eq!(h.result().await.unwrap().result, json!(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_on_two_connections_share_one_embedded_store() {
    // Two handles on one file are two SQLite connections, as two processes would have:
    // their writers take turns on the database lock.
    let dir = std::env::temp_dir().join(format!("blazen-ckpt-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("runs.db");
    let one = EmbeddedStore::open(&db).unwrap();
    let two = EmbeddedStore::open(&db).unwrap();
    let wf_one = fan_out().checkpoint(one.clone()).build().unwrap();
    let wf_two = fan_out().checkpoint(two.clone()).build().unwrap();

    let mut runs = Vec::new();
    for i in 0..20 {
        let wf = if i % 2 == 0 {
            wf_one.clone()
        } else {
            wf_two.clone()
        };
        runs.push(tokio::spawn(async move {
            let h = wf.run(json!({})).await.unwrap();
            (h.run_id(), h.result().await.map(|stop| stop.result))
        }));
    }
    let mut ids = Vec::new();
    for run in runs {
        let (id, result) = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("a run hung")
            .unwrap();
        assert_eq!(result.unwrap(), json!(55));
        ids.push(id);
    }
    let listed = one.list().await.unwrap();
    assert_eq!(listed.len(), 20);
    for id in ids {
        let info = listed.iter().find(|r| r.run_id == id).expect("run listed");
        assert_eq!(
            (info.workflow.as_str(), info.status),
            ("fan-out", SnapshotStatus::Completed)
        );
        assert_eq!(two.load(id).await.unwrap().unwrap().result, Some(json!(55)));
    }
    drop((one, two, wf_one, wf_two));
    let _ = std::fs::remove_dir_all(&dir);
}
