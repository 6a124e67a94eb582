//! Waits with a deadline, and waiting for the next input request.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::time::Duration;

use blazen::prelude::*;
use rt::{ev, step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Approval {
    ok: bool,
}
crate::test_event!(Approval);

fn approver() -> Workflow {
    Workflow::builder("approve")
        .step(
            step("approve", |ctx: Context, _s: StartEvent| async move {
                Ok::<_, WorkflowError>(
                    match ctx.wait_for_event_timeout::<Approval>(Duration::from_secs(5)).await {
                        Ok(a) => StopEvent::new(json!(a.ok)),
                        Err(WorkflowError::WaitTimeout { step, event, after }) => {
                            StopEvent::new(json!({"gave_up": step, "event": event, "ms": after.as_millis() as u64}))
                        }
                        Err(other) => return Err(other),
                    },
                )
            })
            .waits_for(ev::<Approval>())
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_wait_with_a_deadline_gives_up_with_a_typed_error_the_step_handles() {
    let started = tokio::time::Instant::now();
    let stop = approver()
        .run(json!({}))
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(
        stop.result,
        json!({"gave_up": "approve", "event": "Approval", "ms": 5000})
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn an_event_in_time_is_taken() {
    let handler = approver().run(json!({})).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    handler.send_event(Approval { ok: true }).unwrap();
    assert_eq!(handler.result().await.unwrap().result, json!(true));
}

#[tokio::test]
async fn next_input_request_waits_for_the_question_without_polling() {
    let wf = Workflow::builder("ask")
        .step(
            step("ask", |_ctx: Context, _s: StartEvent| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                InputRequiredEvent::new("Ship it?", json!({"order": 7}))
            })
            .emits(ev::<InputRequiredEvent>()),
        )
        .step(
            step(
                "decide",
                |_ctx: Context, r: InputResponseEvent| async move { StopEvent::new(r.response) },
            )
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    assert!(handler.input_requests().is_empty());
    let request = handler.next_input_request().await.expect("a question");
    assert_eq!(request.prompt, "Ship it?");
    assert_eq!(request.step, "ask");
    // Unanswered: it is still the next one.
    assert_eq!(
        handler.next_input_request().await.unwrap().request_id,
        request.request_id
    );
    handler
        .respond(request.request_id, json!("yes"))
        .await
        .unwrap();
    assert_eq!(handler.result().await.unwrap().result, json!("yes"));
    assert!(handler.next_input_request().await.is_none());
}

#[tokio::test]
async fn next_input_request_is_none_when_the_run_ends_without_asking() {
    let wf = Workflow::builder("silent")
        .step(
            step("silent", |_ctx: Context, _s: StartEvent| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    assert!(handler.next_input_request().await.is_none());
}
