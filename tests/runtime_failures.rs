//! Failures are explicit and immediate: step errors, panics, stalls, timeouts.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::time::{Duration, Instant};

use blazen::prelude::*;
use rt::{ev, step, Num};

fn two_steps(second: Step) -> Workflow {
    Workflow::builder("failing")
        .step(step("start", |_ctx, _s: StartEvent| async { Num { n: 1 } }).emits(ev::<Num>()))
        .step(second.emits(ev::<StopEvent>()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_step_error_ends_the_run_naming_step_event_and_cause() {
    let wf = two_steps(step("work", |_ctx, _x: Num| async {
        Err::<StopEvent, _>(WorkflowError::msg("the model said no"))
    }));
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("work") && text.contains("Num") && text.contains("the model said no"),
        "{text}"
    );
    match err {
        WorkflowError::Step {
            step,
            event,
            source,
        } => {
            assert_eq!((step.as_str(), event.as_str()), ("work", "Num"));
            assert_eq!(source.to_string(), "the model said no");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_step_panic_ends_the_run_and_never_hangs_result() {
    let wf = two_steps(step("work", |_ctx, x: Num| async move {
        if x.n == 1 {
            panic!("boom at {}", x.n);
        }
        StopEvent::default()
    }));
    let handler = wf.run(json!({})).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), handler.result())
        .await
        .expect("result() must not hang after a panic")
        .unwrap_err();
    match err {
        WorkflowError::Panic {
            step,
            event,
            message,
        } => {
            assert_eq!((step.as_str(), event.as_str()), ("work", "Num"));
            assert_eq!(message, "boom at 1");
        }
        other => panic!("{other:?}"),
    }
    // The runtime is not poisoned: the same workflow runs again (and fails the same way).
    let again = wf.run(json!({})).await.unwrap().result().await;
    assert!(matches!(again, Err(WorkflowError::Panic { .. })));
}

#[tokio::test]
async fn a_run_that_cannot_progress_fails_at_once_with_stalled() {
    // The second step emits nothing: after it, nothing runs and nothing is queued.
    let wf = Workflow::builder("stall")
        .step(step("start", |_ctx, _s: StartEvent| async { Num { n: 1 } }).emits(ev::<Num>()))
        .step(
            step("maybe", |_ctx, x: Num| async move {
                (x.n > 1).then(StopEvent::default)
            })
            .emits(ev::<StopEvent>()),
        )
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::Stalled { ref workflow } if workflow == "stall"),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stall detected late: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_workflow_timeout_gives_a_timeout_error_with_elapsed_time() {
    let wf = Workflow::builder("slow")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match err {
        WorkflowError::Timeout { what, elapsed } => {
            assert!(what.contains("slow"), "{what}");
            assert!(
                elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(5),
                "{elapsed:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_step_timeout_names_the_step() {
    let wf = two_steps(
        step("work", |_ctx, _x: Num| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StopEvent::default()
        })
        .timeout(Duration::from_millis(50)),
    );
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    match err {
        WorkflowError::Timeout { what, elapsed } => {
            assert!(what.contains("work") && what.contains("Num"), "{what}");
            assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_outside_a_runtime_is_an_error_not_a_panic() {
    let wf = two_steps(step("work", |_ctx, _x: Num| async { StopEvent::default() }));
    let result = futures::executor::block_on(wf.run(json!({})));
    assert!(matches!(result, Err(WorkflowError::NoRuntime)));
}

#[tokio::test]
async fn steps_still_running_after_stop_are_cancelled() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let wf = Workflow::builder("cancel")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                ctx.send_event(Num { n: 1 });
                StopEvent::new(json!("early"))
            })
            .emits(ev::<Num>())
            .emits(ev::<StopEvent>()),
        )
        .step(
            step("slow", move |_ctx, _x: Num| {
                let tx = tx.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let _ = tx.send(());
                    StopEvent::default()
                }
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!("early"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.try_recv().is_err(), "the slow step was not cancelled");
}

/// A step's own error type, with a cause.
#[derive(Debug)]
struct QuotaGone {
    cause: std::io::Error,
}

impl std::fmt::Display for QuotaGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("quota gone")
    }
}

impl std::error::Error for QuotaGone {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

#[tokio::test]
async fn result_called_again_gives_the_same_typed_error() {
    let wf = two_steps(step("work", |_ctx, _x: Num| async {
        Err::<StopEvent, _>(WorkflowError::other(QuotaGone {
            cause: std::io::Error::other("budget of team A"),
        }))
    }));
    let handler = wf.run(json!({})).await.unwrap();
    let first = handler.result().await.unwrap_err();
    let second = handler.result().await.unwrap_err();
    let third = handler.result().await.unwrap_err();
    // The first caller gets the step's own error back.
    let WorkflowError::Step { source, .. } = &first else {
        panic!("{first:?}");
    };
    let WorkflowError::Other(inner) = &**source else {
        panic!("{source:?}");
    };
    assert!(inner.downcast_ref::<QuotaGone>().is_some());
    // Later callers get the same variant and fields, and the cause's message and chain.
    for again in [&second, &third] {
        let WorkflowError::Step {
            step,
            event,
            source,
        } = again
        else {
            panic!("{again:?}");
        };
        assert_eq!((step.as_str(), event.as_str()), ("work", "Num"));
        assert!(matches!(**source, WorkflowError::Other(_)), "{source:?}");
        assert_eq!(again.to_string(), first.to_string());
        let chain = |e: &WorkflowError| {
            let mut out = Vec::new();
            let mut cur: Option<&dyn std::error::Error> = Some(e);
            while let Some(c) = cur {
                out.push(c.to_string());
                cur = c.source();
            }
            out
        };
        assert_eq!(chain(again), chain(&first));
        assert_eq!(chain(again).last().unwrap(), "budget of team A");
    }

    // A panic comes back typed too.
    let wf = two_steps(step("work", |_ctx, _x: Num| async move {
        panic!("boom");
        #[allow(unreachable_code)]
        StopEvent::default()
    }));
    let handler = wf.run(json!({})).await.unwrap();
    assert!(matches!(
        handler.result().await,
        Err(WorkflowError::Panic { .. })
    ));
    assert!(
        matches!(handler.result().await, Err(WorkflowError::Panic { message, .. }) if message == "boom")
    );
}
