//! What dropping a handler does: a run nobody can observe or resume any more (no checkpoint
//! store, no stream reader) is cancelled, so a stuck step does not keep its tasks forever;
//! a detached run, a run whose stream is still read, and a checkpointed run go on. And a
//! pause that a stuck step would hold forever gives up at its deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blazen::prelude::*;
use futures::StreamExt;

#[step]
async fn stuck(_ev: StartEvent) -> StopEvent {
    std::future::pending::<()>().await;
    StopEvent::default()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

async fn settle(expected_at_most: usize) -> usize {
    for _ in 0..500 {
        let n = alive_tasks();
        if n <= expected_at_most {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    alive_tasks()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_dropped_handlers_of_stuck_runs_leave_no_task() {
    let wf = workflow!("stuck", [stuck]);
    let before = alive_tasks();
    for _ in 0..10_000 {
        drop(wf.run(json!({})).await.unwrap());
    }
    let after = settle(before).await;
    assert!(after <= before, "{after} tasks alive, {before} before");
}

/// Counts the step's runs and how many are still live (a guard dropped with the future).
#[derive(Clone, Default)]
struct Gauge {
    started: Arc<AtomicUsize>,
    live: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

struct Live(Arc<AtomicUsize>);
impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[step]
async fn slow(ctx: &Context, _ev: StartEvent) -> StopEvent {
    let gauge = ctx.resource::<Gauge>().unwrap().clone();
    gauge.started.fetch_add(1, Ordering::SeqCst);
    gauge.live.fetch_add(1, Ordering::SeqCst);
    let _live = Live(Arc::clone(&gauge.live));
    tokio::time::sleep(Duration::from_millis(50)).await;
    gauge.finished.fetch_add(1, Ordering::SeqCst);
    StopEvent::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_and_streamed_runs_go_on_dropped_ones_stop() {
    let gauge = Gauge::default();
    let wf = workflow!("slow", [slow]).with_resource(gauge.clone());

    // Dropped: cancelled while its step sleeps.
    let handler = wf.run(json!({})).await.unwrap();
    while gauge.started.load(Ordering::SeqCst) < 1 {
        tokio::task::yield_now().await;
    }
    drop(handler);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(gauge.finished.load(Ordering::SeqCst), 0, "cancelled");
    assert_eq!(
        gauge.live.load(Ordering::SeqCst),
        0,
        "its step future dropped"
    );

    // Detached: runs to its end.
    wf.run(json!({})).await.unwrap().detach();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(gauge.finished.load(Ordering::SeqCst), 1, "detached runs on");

    // Its stream still read: observable, runs to its end.
    let handler = wf.run(json!({})).await.unwrap();
    let stream = handler.stream_events();
    drop(handler);
    let last: Vec<_> = stream.collect().await;
    assert_eq!(last.len(), 1, "the StopEvent");
    assert_eq!(gauge.finished.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_pause_gives_up_at_its_deadline_and_cancel_ends_the_run() {
    let handler = workflow!("stuck", [stuck]).run(json!({})).await.unwrap();
    let paused = handler.pause_timeout(Duration::from_millis(50)).await;
    assert!(
        matches!(paused, Err(WorkflowError::Timeout { .. })),
        "{paused:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), handler.cancel())
        .await
        .expect("cancel returns")
        .unwrap();
    assert!(matches!(
        handler.result().await,
        Err(WorkflowError::Cancelled { .. })
    ));
}
