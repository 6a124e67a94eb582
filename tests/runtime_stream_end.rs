//! The event stream's last item says how the run ended: the `StopEvent`, or `RunFailed`
//! (kind, step, message); bounded streams never drop it. And a pause racing completion.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::time::Duration;

use blazen::prelude::*;
use futures::StreamExt;
use rt::{ev, step, Num};

async fn last_item(handler: &WorkflowHandler) -> Box<dyn Event> {
    let events: Vec<Box<dyn Event>> = handler.stream_events().collect().await;
    events
        .into_iter()
        .last()
        .expect("the stream has a last item")
}

fn failed(item: &dyn Event) -> RunFailed {
    item.downcast_ref::<RunFailed>()
        .unwrap_or_else(|| panic!("RunFailed expected, got {item:?}"))
        .clone()
}

#[tokio::test]
async fn success_ends_the_stream_with_the_stop_event() {
    let wf = Workflow::builder("ok")
        .step(
            step("ok", |_ctx: Context, _s: StartEvent| async {
                StopEvent::new(json!(42))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    let last = last_item(&handler).await;
    assert_eq!(
        last.downcast_ref::<StopEvent>(),
        Some(&StopEvent::new(json!(42)))
    );
}

#[tokio::test]
async fn a_step_error_a_panic_and_a_stall_end_it_with_run_failed() {
    let erring = Workflow::builder("err")
        .step(
            step("erring", |_ctx: Context, _s: StartEvent| async {
                Err::<StopEvent, _>(WorkflowError::msg("bad input"))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let f = failed(&*last_item(&erring.run(json!({})).await.unwrap()).await);
    assert_eq!(f.kind, FailureKind::StepError);
    assert_eq!(f.step.as_deref(), Some("erring"));
    assert!(f.message.contains("bad input"), "{}", f.message);

    let panicking = Workflow::builder("panic")
        .step(
            step("panicking", |_ctx: Context, _s: StartEvent| async {
                if true {
                    panic!("oops");
                }
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let f = failed(&*last_item(&panicking.run(json!({})).await.unwrap()).await);
    assert_eq!(f.kind, FailureKind::Panic);
    assert_eq!(f.step.as_deref(), Some("panicking"));

    let stalling = Workflow::builder("stall")
        .step(
            step("stalling", |_ctx: Context, _s: StartEvent| async {
                Option::<StopEvent>::None
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let f = failed(&*last_item(&stalling.run(json!({})).await.unwrap()).await);
    assert_eq!(f.kind, FailureKind::Stalled);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_ends_it_with_run_failed() {
    let wf = Workflow::builder("slow")
        .step(
            step("slow", |_ctx: Context, _s: StartEvent| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let f = failed(&*last_item(&wf.run(json!({})).await.unwrap()).await);
    assert_eq!(f.kind, FailureKind::Timeout);
}

#[tokio::test]
async fn a_full_bounded_stream_still_gets_the_last_item() {
    let wf = Workflow::builder("bounded")
        .step(
            step("chatty", |ctx: Context, _s: StartEvent| async move {
                for n in 0..100 {
                    ctx.write_event_to_stream(Num { n });
                }
                StopEvent::new(json!("done"))
            })
            .emits(ev::<StopEvent>()),
        )
        .stream_capacity(4)
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    handler.result().await.unwrap();
    // Nobody read while the run wrote: most events were dropped, not the last item.
    let events: Vec<Box<dyn Event>> = handler.stream_events().collect().await;
    assert!(events.len() < 100, "{}", events.len());
    assert_eq!(
        events.last().unwrap().downcast_ref::<StopEvent>(),
        Some(&StopEvent::new(json!("done")))
    );
}

#[tokio::test]
async fn a_pause_racing_the_last_step_says_the_run_completed() {
    for _ in 0..50 {
        let wf = Workflow::builder("race")
            .step(
                step("last", |_ctx: Context, _s: StartEvent| async {
                    tokio::task::yield_now().await;
                    StopEvent::new(json!("done"))
                })
                .emits(ev::<StopEvent>()),
            )
            .build()
            .unwrap();
        let handler = wf.run(json!({})).await.unwrap();
        match handler.pause().await {
            // The pause won: fine too.
            Ok(_) => continue,
            Err(WorkflowError::Completed { run_id }) => {
                assert_eq!(run_id, handler.run_id());
                assert_eq!(handler.result().await.unwrap().result, json!("done"));
            }
            Err(other) => panic!("expected Completed, got {other:?}"),
        }
    }
}
