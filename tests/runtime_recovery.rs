//! Failures as events: a step accepting `StepFailed` recovers from a step that failed for
//! good; the bound on recoveries stops loops; without such a step the run fails as before.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use blazen::prelude::*;
use rt::{ev, step, Num};

fn broken() -> Step {
    step("broken", |_ctx: Context, n: Num| async move {
        Err::<StopEvent, _>(WorkflowError::msg(format!("cannot handle {}", n.n)))
    })
    .emits(ev::<StopEvent>())
}

fn start() -> Step {
    step("start", |_ctx: Context, _s: StartEvent| async {
        Num { n: 7 }
    })
    .emits(ev::<Num>())
}

#[tokio::test]
async fn a_step_failed_handler_turns_a_failure_into_a_fallback_stop_event() {
    let wf = Workflow::builder("fallback")
        .step(start())
        .step(broken())
        .step(
            step("fallback", |_ctx: Context, f: StepFailed| async move {
                StopEvent::new(json!({
                    "fallback": true,
                    "step": f.step,
                    "event": f.event_type,
                    "error": f.error,
                    "attempts": f.attempts,
                }))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .expect("a StepFailed handler is not an unemitted accept");
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"fallback": true, "step": "broken", "event": "Num",
               "error": "cannot handle 7", "attempts": 1})
    );
}

#[tokio::test]
async fn without_a_handler_the_run_fails_as_before() {
    let wf = Workflow::builder("plain")
        .step(start())
        .step(broken())
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(
        matches!(&err, WorkflowError::Step { step, event, .. } if step == "broken" && event == "Num"),
        "{err:?}"
    );
}

/// The recovery sends the work back to the failing step: a loop the bound stops.
fn looping(handled: Arc<AtomicUsize>) -> WorkflowBuilder {
    Workflow::builder("loop").step(start()).step(broken()).step(
        step("again", move |_ctx: Context, f: StepFailed| {
            handled.fetch_add(1, Ordering::SeqCst);
            async move {
                Num {
                    n: u64::from(f.attempts),
                }
            }
        })
        .emits(ev::<Num>()),
    )
}

#[tokio::test]
async fn a_recovery_loop_is_stopped_by_the_bound() {
    let handled = Arc::new(AtomicUsize::new(0));
    let wf = looping(Arc::clone(&handled))
        .max_recoveries(5)
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    match &err {
        WorkflowError::TooManyRecoveries { limit, source } => {
            assert_eq!(*limit, 5);
            assert!(matches!(&**source, WorkflowError::Step { step, .. } if step == "broken"));
        }
        other => panic!("expected TooManyRecoveries, got {other:?}"),
    }
    assert_eq!(handled.load(Ordering::SeqCst), 5);

    // The default bound stops it too.
    let handled = Arc::new(AtomicUsize::new(0));
    let wf = looping(Arc::clone(&handled)).build().unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::TooManyRecoveries { limit, .. } if limit == blazen::DEFAULT_MAX_RECOVERIES)
    );
    assert_eq!(
        handled.load(Ordering::SeqCst),
        blazen::DEFAULT_MAX_RECOVERIES as usize
    );
}

/// The loop again, each recovery passing a gate first.
fn gated_loop(handled: Arc<AtomicUsize>, gate: Arc<tokio::sync::Semaphore>) -> Workflow {
    Workflow::builder("loop")
        .step(start())
        .step(broken())
        .step(
            step("again", move |_ctx: Context, f: StepFailed| {
                handled.fetch_add(1, Ordering::SeqCst);
                let gate = Arc::clone(&gate);
                async move {
                    gate.acquire().await.unwrap().forget();
                    Num {
                        n: u64::from(f.attempts),
                    }
                }
            })
            .emits(ev::<Num>()),
        )
        .max_recoveries(5)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_bound_counts_the_recoveries_of_every_life_of_a_resumed_run() {
    let handled = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(3));
    let wf = gated_loop(Arc::clone(&handled), Arc::clone(&gate));
    let handler = Arc::new(wf.run(json!({})).await.unwrap());
    // Three recoveries went through; the fourth waits at the gate, in flight.
    while handled.load(Ordering::SeqCst) < 4 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let pausing = {
        let h = Arc::clone(&handler);
        tokio::spawn(async move { h.pause().await })
    };
    // Pause waits for the step in flight: let it through once the pause is asked for.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    gate.add_permits(1);
    let snap = pausing.await.unwrap().unwrap();
    assert_eq!(snap.recoveries, 4);
    let text = snap.to_json().unwrap();
    let snap = blazen::persist::WorkflowSnapshot::from_json(&text).unwrap();

    // One recovery is left of the five: the second life does not start a new budget.
    let handled_again = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(tokio::sync::Semaphore::new(100));
    let wf = gated_loop(Arc::clone(&handled_again), open);
    let err = wf.resume(snap).await.unwrap().result().await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::TooManyRecoveries { limit: 5, .. }),
        "{err:?}"
    );
    assert_eq!(handled_again.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_recovery_fails_the_run() {
    let wf = Workflow::builder("double")
        .step(start())
        .step(broken())
        .step(
            step("fallback", |_ctx: Context, _f: StepFailed| async move {
                Err::<StopEvent, _>(WorkflowError::msg("fallback down too"))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(
        matches!(&err, WorkflowError::Step { step, .. } if step == "fallback"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_panic_is_recovered_from_too() {
    let wf = Workflow::builder("panic")
        .step(
            step("boom", |_ctx: Context, _s: StartEvent| async move {
                if true {
                    panic!("kaboom");
                }
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .step(
            step("fallback", |_ctx: Context, f: StepFailed| async move {
                StopEvent::new(json!(f.error))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!("panicked: kaboom"));
}

mod macros {
    use blazen::prelude::*;

    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    struct Draft {
        text: String,
    }

    #[step]
    fn write(_ev: StartEvent) -> Draft {
        Draft { text: "hi".into() }
    }

    #[step]
    fn publish(ev: Draft) -> Result<StopEvent, WorkflowError> {
        Err(WorkflowError::msg(format!("cannot publish {}", ev.text)))
    }

    /// A StepFailed handler in `workflow!`: checked at compile time, and what it emits is
    /// reachable.
    #[step]
    fn fallback(failed: StepFailed) -> StopEvent {
        StopEvent::new(json!({ "draft_failed_in": failed.step }))
    }

    #[tokio::test]
    async fn workflow_macro_accepts_a_step_failed_handler() {
        let wf = workflow!("publish", [write, publish, fallback]);
        let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
        assert_eq!(stop.result, json!({ "draft_failed_in": "publish" }));
    }
}
