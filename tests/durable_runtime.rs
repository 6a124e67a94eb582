//! Durable runs through the runtime: pause/resume with queued, in-flight and fan-in state,
//! graph fingerprint refusal, checkpoints after each step, human input (also across a
//! "restart": a new workflow value resuming from the store).

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blazen::persist::{CheckpointStore, SnapshotStatus};
use blazen::prelude::*;
use futures::StreamExt;
use rt::{ev, step, Done, Num};
use tokio::sync::Semaphore;

/// Waits (up to 10 s) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting for {what}");
}

/// start → 10 × Num → work (max 2, each waits for a gate permit) → Done → collect (10) → Stop.
fn gated(gate: Arc<Semaphore>, waiting: Arc<AtomicUsize>) -> Workflow {
    Workflow::builder("gated")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                ctx.set("label", &"sums")?;
                ctx.set_bytes("raw", vec![7u8, 8, 9]);
                Ok::<_, WorkflowError>((0..10).map(|n| Num { n }).collect::<Vec<_>>())
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("work", move |_ctx, x: Num| {
                let (gate, waiting) = (Arc::clone(&gate), Arc::clone(&waiting));
                async move {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    gate.acquire().await.map_err(WorkflowError::other)?.forget();
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, WorkflowError>(Done { n: x.n })
                }
            })
            .max_concurrency(2)
            .emits(ev::<Done>()),
        )
        .step(
            step("collect", |ctx: Context, d: Done| async move {
                let label: Option<String> = ctx.get("label")?;
                Ok::<_, WorkflowError>(ctx.collect_events(d, 10).map(|all| {
                    StopEvent::new(json!({
                        "label": label,
                        "raw": ctx.get_bytes("raw"),
                        "sum": all.iter().map(|d| d.n).sum::<u64>(),
                    }))
                }))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

fn expected() -> serde_json::Value {
    json!({"label": "sums", "raw": [7, 8, 9], "sum": 45})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_then_resume_loses_nothing_queued_in_flight_or_buffered() {
    let gate = Arc::new(Semaphore::new(4));
    let waiting = Arc::new(AtomicUsize::new(0));
    let wf = gated(Arc::clone(&gate), Arc::clone(&waiting));
    let handler = Arc::new(wf.run(json!({})).await.unwrap());
    // Four workers passed the gate; two are now blocked in flight.
    until("two blocked workers", || {
        waiting.load(Ordering::SeqCst) == 2
    })
    .await;
    let pausing = {
        let h = Arc::clone(&handler);
        tokio::spawn(async move { h.pause().await })
    };
    // Pause waits for the running steps: let them finish.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !pausing.is_finished(),
        "pause did not wait for the running steps"
    );
    gate.add_permits(2);
    let snap = pausing.await.unwrap().unwrap();
    assert!(matches!(
        handler.result().await,
        Err(WorkflowError::Paused { .. })
    ));

    assert_eq!(snap.status, SnapshotStatus::Paused);
    assert_eq!(snap.run_id, handler.run_id());
    assert_eq!(snap.state.get("label"), Some(&json!("sums")));
    assert_eq!(snap.bytes.get("raw"), Some(&vec![7u8, 8, 9]));
    // 4 Done collected before the pause; the 2 in-flight workers' Done are queued for
    // `collect`, the 4 Num never started are queued for `work`.
    let buffered: usize = snap.fan_in.iter().map(|b| b.events.len()).sum();
    let queued_num = snap.queued.iter().filter(|e| e.event_type == "Num").count();
    let queued_done = snap
        .queued
        .iter()
        .filter(|e| e.event_type == "Done")
        .count();
    assert_eq!((buffered, queued_num, queued_done), (4, 4, 2), "{snap:#?}");
    assert!(snap.in_flight.is_empty());

    // Through JSON, into a fresh workflow value (as another process would).
    let snap = WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap();
    let open = Arc::new(Semaphore::new(1_000));
    let wf2 = gated(open, Arc::new(AtomicUsize::new(0)));
    let resumed = wf2.resume(snap).await.unwrap();
    assert_eq!(resumed.run_id(), handler.run_id());
    assert_eq!(resumed.result().await.unwrap().result, expected());
}

#[tokio::test]
async fn pausing_a_finished_run_is_an_error() {
    let wf = gated(Arc::new(Semaphore::new(100)), Arc::new(AtomicUsize::new(0)));
    let h = wf.run(json!({})).await.unwrap();
    assert_eq!(h.result().await.unwrap().result, expected());
    // The run completed: the error says so (and `result()` still gives the StopEvent).
    assert!(matches!(
        h.pause().await,
        Err(WorkflowError::Completed { run_id }) if run_id == h.run_id()
    ));
}

#[tokio::test]
async fn a_changed_graph_refuses_the_snapshot() {
    let gate = Arc::new(Semaphore::new(0));
    let wf = gated(Arc::clone(&gate), Arc::new(AtomicUsize::new(0)));
    let h = wf.run(json!({})).await.unwrap();
    let pausing = tokio::spawn({
        let gate = Arc::clone(&gate);
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            gate.add_permits(100);
        }
    });
    let snap = h.pause().await.unwrap();
    pausing.await.unwrap();
    let changed = Workflow::builder("gated")
        .step(step("start", |_ctx, _s: StartEvent| async { Num { n: 0 } }).emits(ev::<Num>()))
        .step(
            step(
                "work",
                |_ctx, x: Num| async move { StopEvent::new(json!(x.n)) },
            )
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let err = changed.resume(snap.clone()).await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::SnapshotMismatch { .. }),
        "{err:?}"
    );
    // The unchanged graph accepts it.
    let again = gated(Arc::new(Semaphore::new(100)), Arc::new(AtomicUsize::new(0)));
    assert_eq!(
        again
            .resume(snap)
            .await
            .unwrap()
            .result()
            .await
            .unwrap()
            .result,
        expected()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_after_each_step_lists_in_flight_events_for_a_crash_resume() {
    let store = InMemoryStore::new();
    let gate = Arc::new(Semaphore::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let build = |gate: Arc<Semaphore>, runs: Arc<AtomicUsize>| {
        Workflow::builder("crashy")
            .step(
                step("start", |_ctx, _s: StartEvent| async {
                    vec![Num { n: 1 }, Num { n: 2 }]
                })
                .emits(ev::<Num>()),
            )
            .step(
                step("work", move |_ctx, x: Num| {
                    let (gate, runs) = (Arc::clone(&gate), Arc::clone(&runs));
                    async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        if x.n == 2 {
                            // The "crash": this never finishes in the first process.
                            gate.acquire().await.map_err(WorkflowError::other)?.forget();
                        }
                        Ok::<_, WorkflowError>(Done { n: x.n * 10 })
                    }
                })
                .emits(ev::<Done>()),
            )
            .step(
                step("collect", |ctx: Context, d: Done| async move {
                    ctx.set("seen", &ctx.collected_count::<Done>())?;
                    Ok::<_, WorkflowError>(
                        ctx.collect_events(d, 2)
                            .map(|all| StopEvent::new(json!(all.iter().map(|d| d.n).sum::<u64>()))),
                    )
                })
                .emits(ev::<StopEvent>()),
            )
            .checkpoint(store.clone())
            .build()
            .unwrap()
    };
    let wf = build(Arc::clone(&gate), Arc::clone(&runs));
    let h = wf.run(json!({})).await.unwrap();
    let run_id = h.run_id();
    // Wait for the checkpoint written after `collect` buffered Done(10).
    let snap = {
        let mut found = None;
        for _ in 0..5_000 {
            if let Some(s) = store.load(run_id).await.unwrap() {
                if s.fan_in.iter().any(|b| b.events.len() == 1) {
                    found = Some(s);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        found.expect("no checkpoint with the buffered Done")
    };
    assert_eq!(snap.status, SnapshotStatus::Running);
    assert_eq!(snap.in_flight.len(), 1, "{snap:#?}");
    assert_eq!(snap.in_flight[0].event_type, "Num");
    assert_eq!(snap.in_flight[0].data, json!({"n": 2}));
    assert_eq!(snap.in_flight[0].target_step.as_deref(), Some("work"));

    // "Restart": a new workflow value resumes from the store; the in-flight step runs again.
    let wf2 = build(Arc::new(Semaphore::new(100)), Arc::clone(&runs));
    let resumed = wf2.resume_from(&store, run_id).await.unwrap();
    assert_eq!(resumed.result().await.unwrap().result, json!(30));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "Num(2) runs again: at least once"
    );
    // The final snapshot records the outcome; resuming it only reports it.
    let last = store.load(run_id).await.unwrap().unwrap();
    assert_eq!(last.status, SnapshotStatus::Completed);
    let again = wf2.resume_from(&store, run_id).await.unwrap();
    assert_eq!(again.result().await.unwrap().result, json!(30));
    drop(h);
}

fn asking(store: Option<InMemoryStore>) -> Workflow {
    let mut b = Workflow::builder("ask")
        .step(
            step("ask", |ctx: Context, s: StartEvent| async move {
                ctx.set("question", &s.get("q"))?;
                Ok::<_, WorkflowError>(InputRequiredEvent::new(
                    "Approve?",
                    json!({"choices": ["yes", "no"]}),
                ))
            })
            .emits(ev::<InputRequiredEvent>()),
        )
        .step(
            step("answer", |ctx: Context, r: InputResponseEvent| async move {
                let q: Option<String> = ctx.get("question")?;
                Ok::<_, WorkflowError>(StopEvent::new(json!({"q": q, "a": r.response})))
            })
            .emits(ev::<StopEvent>()),
        );
    if let Some(store) = store {
        b = b.checkpoint(store);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn a_step_asks_a_person_and_respond_continues_the_run() {
    let wf = asking(None);
    let h = wf.run(json!({"q": "ship it?"})).await.unwrap();
    let mut stream = h.stream_events();
    let first = stream.next().await.unwrap();
    let req = first.downcast_ref::<InputRequiredEvent>().unwrap().clone();
    assert_eq!(req.prompt, "Approve?");
    until("the request to be listed", || {
        !h.input_requests().is_empty()
    })
    .await;
    let pending = h.input_requests();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].request_id, req.request_id);
    assert_eq!(pending[0].step, "ask");
    assert_eq!(pending[0].metadata, json!({"choices": ["yes", "no"]}));
    // Waiting for a person is not a stall.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let err = h
        .respond(uuid::Uuid::new_v4(), json!("no"))
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::UnknownInputRequest { .. }));
    h.respond(req.request_id, json!("yes")).await.unwrap();
    assert_eq!(
        h.result().await.unwrap().result,
        json!({"q": "ship it?", "a": "yes"})
    );
    assert!(h.input_requests().is_empty());
}

#[tokio::test]
async fn human_input_across_a_restart() {
    let store = InMemoryStore::new();
    let wf = asking(Some(store.clone()));
    let h = wf.run(json!({"q": "deploy?"})).await.unwrap();
    let run_id = h.run_id();
    until("the request to be listed", || {
        !h.input_requests().is_empty()
    })
    .await;
    let request_id = h.input_requests()[0].request_id;
    let mut waiting = None;
    for _ in 0..5_000 {
        match store.load(run_id).await.unwrap() {
            Some(s) if s.status == SnapshotStatus::WaitingForInput => {
                waiting = Some(s);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    let waiting = waiting.expect("the waiting run was not persisted");
    assert_eq!(waiting.input_requests.len(), 1);
    assert_eq!(waiting.state.get("question"), Some(&json!("deploy?")));
    // Dropping the handler ends this process's router (nobody here can answer); the stored
    // snapshot stays the run's state.
    drop(h);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        store.load(run_id).await.unwrap().unwrap().status,
        SnapshotStatus::WaitingForInput
    );

    // A "new process": another workflow value on the same store.
    let wf2 = asking(Some(store.clone()));
    let err = wf2
        .respond_from(&store, run_id, uuid::Uuid::new_v4(), json!("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::UnknownInputRequest { .. }));
    let h2 = wf2
        .respond_from(&store, run_id, request_id, json!("go"))
        .await
        .unwrap();
    assert_eq!(h2.run_id(), run_id);
    assert_eq!(
        h2.result().await.unwrap().result,
        json!({"q": "deploy?", "a": "go"})
    );
    assert_eq!(
        store.load(run_id).await.unwrap().unwrap().status,
        SnapshotStatus::Completed
    );
}

#[tokio::test]
async fn resume_from_an_unknown_run_is_a_typed_error() {
    let store = InMemoryStore::new();
    let wf = asking(Some(store.clone()));
    let err = wf
        .resume_from(&store, uuid::Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::Persist(_)), "{err:?}");
}

/// start → 1,000 × Num (a large fan-out: routed in chunks) → work (max 3) → Done → collect.
fn wide(gate: Arc<Semaphore>) -> Workflow {
    Workflow::builder("wide")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                (0..1_000).map(|n| Num { n }).collect::<Vec<_>>()
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
            .max_concurrency(3)
            .emits(ev::<Done>()),
        )
        .step(
            step("collect", |ctx: Context, d: Done| async move {
                ctx.collect_events(d, 1_000)
                    .map(|all| StopEvent::new(json!(all.iter().map(|d| d.n).sum::<u64>())))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_during_a_large_fan_out_keeps_every_event() {
    let gate = Arc::new(Semaphore::new(10));
    let h = Arc::new(wide(Arc::clone(&gate)).run(json!({})).await.unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pausing = {
        let h = Arc::clone(&h);
        tokio::spawn(async move { h.pause().await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    gate.add_permits(3);
    let snap = pausing.await.unwrap().unwrap();
    let buffered: usize = snap.fan_in.iter().map(|b| b.events.len()).sum();
    let total = buffered + snap.queued.len() + snap.in_flight.len();
    assert_eq!(
        total,
        1_000,
        "events lost or duplicated: {buffered} buffered, {} queued",
        snap.queued.len()
    );
    assert!(snap.queued.len() >= 900, "{}", snap.queued.len());
    let resumed = wide(Arc::new(Semaphore::new(10_000)))
        .resume(snap)
        .await
        .unwrap();
    assert_eq!(resumed.result().await.unwrap().result, json!(499_500));
}

#[tokio::test]
async fn a_run_waiting_for_input_can_be_paused_and_answered_after_resume() {
    let wf = asking(None);
    let h = wf.run(json!({"q": "later?"})).await.unwrap();
    until("the request to be listed", || {
        !h.input_requests().is_empty()
    })
    .await;
    let snap = h.pause().await.unwrap();
    assert_eq!(snap.status, SnapshotStatus::Paused);
    assert_eq!(snap.input_requests.len(), 1);
    let request_id = snap.input_requests[0].request_id;
    let resumed = wf.resume(snap).await.unwrap();
    assert_eq!(resumed.input_requests().len(), 1);
    resumed.respond(request_id, json!("now")).await.unwrap();
    assert_eq!(
        resumed.result().await.unwrap().result,
        json!({"q": "later?", "a": "now"})
    );
}

#[tokio::test]
async fn dropping_the_handler_of_a_run_waiting_for_input_ends_its_task() {
    let wf = asking(None);
    let h = wf.run(json!({"q": "anyone?"})).await.unwrap();
    until("the request to be listed", || {
        !h.input_requests().is_empty()
    })
    .await;
    let stream = h.stream_events();
    drop(h);
    // The router ends (the stream closes) instead of waiting forever for an answer nobody
    // can give.
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(5), stream.collect::<Vec<_>>())
        .await
        .expect("the run's task kept waiting after its handler was dropped");
    assert_eq!(events.len(), 1);
    assert!(events[0].is::<InputRequiredEvent>());
}
