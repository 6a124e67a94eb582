//! Durable runs across real process deaths: a child process runs a workflow checkpointed
//! to an `EmbeddedStore` and is killed with SIGKILL mid-run; this process resumes the run
//! from the store and must get the result of an uninterrupted run. Likewise for a run
//! waiting for a person: the child asks, dies, and this process answers.
//!
//! The child is this very test binary, started with `<test name> --exact` and the
//! environment variable `BLAZEN_DURABLE_CHILD` set to the database path: the test function
//! then plays the child's part instead of the parent's.

#![cfg(unix)]

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blazen::persist::SnapshotStatus;
use blazen::prelude::*;
use blazen::WorkflowBuilder;
use rt::{ev, step};

/// Set in the child: the database path.
const CHILD_ENV: &str = "BLAZEN_DURABLE_CHILD";

/// One stage of a long chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stage {
    i: u64,
}
crate::test_event!(Stage);

/// The chain is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Finished {
    stages: u64,
}
crate::test_event!(Finished);

const STAGES: u64 = 8;

/// start → Stage(1) → advance (×8, each `delay` long) → Finished → finish → Stop.
///
/// Every stage writes context state derived from its event only (so running it again
/// after a crash is harmless: the idempotency the docs ask for).
fn chain(delay: Duration) -> WorkflowBuilder {
    Workflow::builder("crash-chain")
        .step(
            step("start", |ctx: Context, s: StartEvent| async move {
                ctx.set("label", &s.get("label"))?;
                Ok::<_, WorkflowError>(Stage { i: 1 })
            })
            .emits(ev::<Stage>()),
        )
        .step(
            step("advance", move |ctx: Context, s: Stage| async move {
                tokio::time::sleep(delay).await;
                ctx.set(&format!("stage{}", s.i), &(s.i * s.i))?;
                ctx.set("progress", &s.i)?;
                let mut trail = ctx.get_bytes("trail").unwrap_or_default();
                trail.truncate(s.i as usize - 1);
                trail.push(s.i as u8);
                ctx.set_bytes("trail", trail);
                let out: Box<dyn Event> = if s.i < STAGES {
                    Box::new(Stage { i: s.i + 1 })
                } else {
                    Box::new(Finished { stages: s.i })
                };
                Ok::<_, WorkflowError>(out)
            })
            .emits(ev::<Stage>())
            .emits(ev::<Finished>()),
        )
        .step(
            step("finish", |ctx: Context, f: Finished| async move {
                let mut squares = 0u64;
                for i in 1..=f.stages {
                    squares += ctx.get::<u64>(&format!("stage{i}"))?.unwrap_or(0);
                }
                Ok::<_, WorkflowError>(StopEvent::new(json!({
                    "label": ctx.get::<String>("label")?,
                    "squares": squares,
                    "trail": ctx.get_bytes("trail"),
                })))
            })
            .emits(ev::<StopEvent>()),
        )
}

/// A step that asks a person, and one that uses the answer.
fn asking() -> WorkflowBuilder {
    Workflow::builder("crash-ask")
        .step(
            step("ask", |ctx: Context, s: StartEvent| async move {
                ctx.set("order", &s.get("order"))?;
                ctx.set_bytes("sig", vec![1u8, 2, 3]);
                Ok::<_, WorkflowError>(InputRequiredEvent::new(
                    "Ship this order?",
                    json!({"choices": ["yes", "no"]}),
                ))
            })
            .emits(ev::<InputRequiredEvent>()),
        )
        .step(
            step("decide", |ctx: Context, r: InputResponseEvent| async move {
                Ok::<_, WorkflowError>(StopEvent::new(json!({
                    "order": ctx.get::<serde_json::Value>("order")?,
                    "sig": ctx.get_bytes("sig"),
                    "answer": r.response,
                })))
            })
            .emits(ev::<StopEvent>()),
        )
}

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("blazen-crash-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The child process; SIGKILLed on drop if still alive (a failing parent leaves no orphan).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this test binary running only `test` in child mode on database `db`.
fn spawn_child(test: &str, db: &Path) -> ChildGuard {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    ChildGuard(child)
}

/// Polls `store` (up to 60 s) until its only run's snapshot satisfies `ready`; panics if
/// the child exits first.
async fn wait_for_snapshot(
    store: &EmbeddedStore,
    child: &mut ChildGuard,
    ready: impl Fn(&WorkflowSnapshot) -> bool,
) -> WorkflowSnapshot {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("the child exited ({status}) before the awaited checkpoint");
        }
        if let Some(run) = store.list().await.unwrap().first() {
            if let Some(snap) = store.load(run.run_id).await.unwrap() {
                if ready(&snap) {
                    return snap;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no awaited checkpoint within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Sends SIGKILL and reaps the child; asserts it was still running (killed, not exited).
fn sigkill(child: &mut ChildGuard) {
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the child finished before it could be killed"
    );
    child.0.kill().unwrap(); // SIGKILL on Unix
    let status = child.0.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_resume_in_another_process_gives_the_same_result() {
    if let Some(db) = std::env::var_os(CHILD_ENV) {
        // Child: run slowly with checkpoints until killed.
        let store = EmbeddedStore::open(db).unwrap();
        let wf = chain(Duration::from_millis(150))
            .checkpoint(store)
            .build()
            .unwrap();
        let handler = wf.run(json!({"label": "crash"})).await.unwrap();
        let _ = handler.result().await;
        return;
    }

    let input = json!({"label": "crash"});
    let uninterrupted = chain(Duration::ZERO)
        .build()
        .unwrap()
        .run(input.clone())
        .await
        .unwrap()
        .result()
        .await
        .unwrap()
        .result;
    assert_eq!(uninterrupted["squares"], json!(204));
    assert_eq!(uninterrupted["trail"], json!([1, 2, 3, 4, 5, 6, 7, 8]));

    let dir = TempDir::new();
    let db = dir.0.join("runs.db");
    // Create the database before the child so both see it from the start.
    let store = EmbeddedStore::open(&db).unwrap();
    let mut child = spawn_child(
        "sigkill_mid_run_then_resume_in_another_process_gives_the_same_result",
        &db,
    );
    // Kill once three stages are checkpointed (five more, 750 ms of work, remain).
    let seen = wait_for_snapshot(&store, &mut child, |s| {
        s.get::<u64>("progress").ok().flatten() >= Some(3)
    })
    .await;
    sigkill(&mut child);

    // The store holds the last checkpoint the child committed: mid-run, with the next
    // stage's event in flight.
    let runs = store.list().await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_id = runs[0].run_id;
    assert_eq!(run_id, seen.run_id);
    assert_eq!(runs[0].workflow, "crash-chain");
    let last = store.load(run_id).await.unwrap().unwrap();
    assert_eq!(last.status, SnapshotStatus::Running, "{last:#?}");
    let progress: u64 = last.get("progress").unwrap().unwrap();
    assert!((3..STAGES).contains(&progress), "{last:#?}");
    assert_eq!(last.in_flight.len(), 1, "{last:#?}");
    assert_eq!(last.in_flight[0].event_type, "Stage");
    assert_eq!(last.in_flight[0].data, json!({"i": progress + 1}));
    assert_eq!(last.in_flight[0].target_step.as_deref(), Some("advance"));
    assert_eq!(
        last.bytes.get("trail").map(Vec::len),
        Some(progress as usize)
    );

    // A new "process": a new store handle and workflow value resume the run.
    drop(store);
    let store = EmbeddedStore::open(&db).unwrap();
    let wf = chain(Duration::from_millis(1))
        .checkpoint(store.clone())
        .build()
        .unwrap();
    let resumed = wf.resume_from(&store, run_id).await.unwrap();
    assert_eq!(resumed.run_id(), run_id);
    let result = tokio::time::timeout(Duration::from_secs(30), resumed.result())
        .await
        .expect("the resumed run did not finish")
        .unwrap();
    assert_eq!(result.result, uninterrupted);

    // The store now records the outcome.
    let done = store.load(run_id).await.unwrap().unwrap();
    assert_eq!(done.status, SnapshotStatus::Completed);
    assert_eq!(done.result.as_ref(), Some(&uninterrupted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_survives_the_death_of_the_process_that_asked_it() {
    if let Some(db) = std::env::var_os(CHILD_ENV) {
        // Child: ask, then wait for an answer that will never come here.
        let store = EmbeddedStore::open(db).unwrap();
        let wf = asking().checkpoint(store).build().unwrap();
        let handler = wf.run(json!({"order": {"id": 7}})).await.unwrap();
        let _ = handler.result().await;
        return;
    }

    // What a person answering in-process gets.
    let wf = asking().build().unwrap();
    let h = wf.run(json!({"order": {"id": 7}})).await.unwrap();
    let mut request = None;
    for _ in 0..10_000 {
        if let Some(r) = h.input_requests().first() {
            request = Some(r.request_id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    h.respond(request.expect("no input request"), json!("yes"))
        .await
        .unwrap();
    let in_process = h.result().await.unwrap().result;
    assert_eq!(
        in_process,
        json!({"order": {"id": 7}, "sig": [1, 2, 3], "answer": "yes"})
    );

    let dir = TempDir::new();
    let db = dir.0.join("runs.db");
    let store = EmbeddedStore::open(&db).unwrap();
    let mut child = spawn_child(
        "a_question_survives_the_death_of_the_process_that_asked_it",
        &db,
    );
    let waiting = wait_for_snapshot(&store, &mut child, |s| {
        s.status == SnapshotStatus::WaitingForInput
    })
    .await;
    sigkill(&mut child);

    assert_eq!(waiting.input_requests.len(), 1, "{waiting:#?}");
    let request = waiting.input_requests[0].clone();
    assert_eq!(request.prompt, "Ship this order?");
    assert_eq!(request.step, "ask");
    assert_eq!(request.metadata, json!({"choices": ["yes", "no"]}));
    let runs = store.list().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, SnapshotStatus::WaitingForInput);

    // A new "process" answers.
    drop(store);
    let store = EmbeddedStore::open(&db).unwrap();
    let wf = asking().checkpoint(store.clone()).build().unwrap();
    let err = wf
        .respond_from(&store, waiting.run_id, uuid::Uuid::new_v4(), json!("no"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkflowError::UnknownInputRequest { .. }),
        "{err:?}"
    );
    let h = wf
        .respond_from(&store, waiting.run_id, request.request_id, json!("yes"))
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), h.result())
        .await
        .expect("the answered run did not finish")
        .unwrap();
    assert_eq!(result.result, in_process);
    let done = store.load(waiting.run_id).await.unwrap().unwrap();
    assert_eq!(done.status, SnapshotStatus::Completed);
    assert!(done.input_requests.is_empty());
}
