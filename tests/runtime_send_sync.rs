//! Public types, futures and streams are Send (and Sync where shared).

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use blazen::prelude::*;
use blazen::{EventStream, WorkflowBuilder};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Workflow>();
    send_sync::<WorkflowBuilder>();
    send_sync::<WorkflowHandler>();
    send_sync::<Context>();
    send_sync::<Step>();
    send_sync::<WorkflowError>();
    send_sync::<WorkflowSnapshot>();
    send_sync::<Box<dyn Event>>();
    send_sync::<EventStream>();
}

#[tokio::test]
async fn futures_are_send() {
    let wf = Workflow::builder("s")
        .step(
            rt::step("start", |_ctx, _s: StartEvent| async {
                StopEvent::default()
            })
            .emits(rt::ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let run = wf.run(json!({}));
    send(&run);
    let handler = run.await.unwrap();
    let result = handler.result();
    send(&result);
    drop(result);
    send(&handler.pause());
    send(&handler.respond(uuid::Uuid::nil(), json!(null)));
    send(&wf.resume(WorkflowSnapshot::new("s", "x", uuid::Uuid::nil())));
    let store = InMemoryStore::new();
    send(&wf.resume_from(&store, uuid::Uuid::nil()));
    // Everything works inside tokio::spawn.
    let wf2 = wf.clone();
    let out = tokio::spawn(async move {
        let h = wf2.run(json!({})).await?;
        h.result().await
    })
    .await
    .unwrap();
    assert!(out.is_ok());
    assert!(handler.result().await.is_ok());
}
