//! `handler.cancel()`: running steps dropped, queued events discarded, waits released, the
//! stream ending with `RunFailed`, and a checkpointing run saved as cancelled.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blazen::persist::SnapshotStatus;
use blazen::prelude::*;
use futures::StreamExt;
use rt::{ev, many, step, Done, Num};

/// Counts live step executions: one per guard, dropped with the step's future.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Live(Arc::clone(live))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// start fans out 1,000 `Num`s to `work` (4 at a time, each slow), collected by `total`.
fn fan_out(live: Arc<AtomicUsize>, started: Arc<AtomicUsize>) -> WorkflowBuilder {
    Workflow::builder("fan-out")
        .step(
            step("start", |_ctx: Context, _s: StartEvent| async move {
                many(
                    (0..1_000)
                        .map(|n| Box::new(Num { n }) as Box<dyn Event>)
                        .collect(),
                )
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("work", move |ctx: Context, n: Num| {
                let live = Arc::clone(&live);
                let started = Arc::clone(&started);
                async move {
                    let _guard = Live::new(&live);
                    started.fetch_add(1, Ordering::SeqCst);
                    ctx.write_event_to_stream(n.clone());
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Done { n: n.n }
                }
            })
            .emits(ev::<Done>())
            .max_concurrency(4),
        )
        .step(
            step("total", |ctx: Context, d: Done| async move {
                ctx.collect_events(d, 1_000).map(|_| StopEvent::default())
            })
            .emits(ev::<StopEvent>()),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_a_fan_out_of_1000_stops_everything_at_once() {
    let live = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let wf = fan_out(Arc::clone(&live), Arc::clone(&started))
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    let mut stream = handler.stream_events();
    // Let a few rounds of 4 run.
    for _ in 0..10 {
        assert!(stream.next().await.unwrap().is::<Num>());
    }
    handler.cancel().await.unwrap();
    // No step future is left once cancel returns.
    assert_eq!(live.load(Ordering::SeqCst), 0, "no task left behind");
    let ran = started.load(Ordering::SeqCst);
    assert!(ran < 100, "most of the fan-out was discarded ({ran} ran)");
    let err = handler.result().await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::Cancelled { run_id } if run_id == handler.run_id()),
        "{err:?}"
    );
    // The stream ends with its RunFailed item.
    let rest: Vec<Box<dyn Event>> = stream.collect().await;
    let last = rest.last().expect("a last item");
    let failed = last.downcast_ref::<RunFailed>().expect("RunFailed last");
    assert_eq!(failed.kind, FailureKind::Cancelled);
    assert!(rest[..rest.len() - 1].iter().all(|e| e.is::<Num>()));
    // Nothing runs afterwards.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(started.load(Ordering::SeqCst), ran);
    assert_eq!(live.load(Ordering::SeqCst), 0);
    // Cancelling again: the run is over.
    assert!(matches!(
        handler.cancel().await,
        Err(WorkflowError::NotRunning { .. })
    ));
}

#[tokio::test]
async fn cancel_releases_a_waiting_step() {
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    struct Approval {
        ok: bool,
    }
    let live = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&live);
    let wf = Workflow::builder("waiting")
        .step(
            step("wait", move |ctx: Context, _s: StartEvent| {
                let live = Arc::clone(&counted);
                async move {
                    let _guard = Live::new(&live);
                    let a: Approval = ctx.wait_for_event().await?;
                    Ok::<_, WorkflowError>(StopEvent::new(json!(a.ok)))
                }
            })
            .waits_for(ev::<Approval>())
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    while live.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    handler.cancel().await.unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 0);
    assert!(matches!(
        handler.result().await,
        Err(WorkflowError::Cancelled { .. })
    ));
}

#[tokio::test]
async fn a_cancelled_checkpointing_run_is_reported_not_run_again() {
    let store = InMemoryStore::new();
    let live = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let wf = fan_out(Arc::clone(&live), Arc::clone(&started))
        .checkpoint(store.clone())
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    while started.load(Ordering::SeqCst) < 8 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    handler.cancel().await.unwrap();
    let snap = store.load(handler.run_id()).await.unwrap().unwrap();
    assert_eq!(snap.status(), SnapshotStatus::Cancelled);
    let ran = started.load(Ordering::SeqCst);
    let resumed = wf.resume_from(&store, handler.run_id()).await.unwrap();
    assert!(matches!(
        resumed.result().await,
        Err(WorkflowError::Cancelled { run_id }) if run_id == handler.run_id()
    ));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(started.load(Ordering::SeqCst), ran, "not run again");
}

#[tokio::test]
async fn cancelling_a_completed_run_says_it_completed() {
    let wf = Workflow::builder("quick")
        .step(
            step("quick", |_ctx: Context, _s: StartEvent| async {
                StopEvent::new(json!(1))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    assert_eq!(handler.result().await.unwrap().result, json!(1));
    assert!(matches!(
        handler.cancel().await,
        Err(WorkflowError::Completed { .. })
    ));
}
