//! Resources: values a workflow holds for its steps (`ctx.resource::<T>()`): from the builder
//! and from `with_resource`, missing ones, detached contexts, never in snapshots or `Debug`.

use std::sync::Arc;

use blazen::prelude::*;
use blazen::Resources;

/// Stands for a model or a client holding a secret.
struct Client {
    api_key: String,
    prefix: &'static str,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &self.api_key)
            .finish()
    }
}

#[step]
async fn call(ctx: &Context, ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    let client = ctx.resource::<Client>()?;
    let calls = ctx.resource_arc::<std::sync::atomic::AtomicUsize>()?;
    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(StopEvent::new(json!(format!(
        "{}{}",
        client.prefix,
        ev.data.as_str().unwrap_or("")
    ))))
}

fn client(prefix: &'static str) -> Client {
    Client {
        api_key: "sk-secret-value".into(),
        prefix,
    }
}

#[tokio::test]
async fn steps_read_the_resources_of_the_builder_and_of_with_resource() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let built = Workflow::builder("call")
        .step(call::step())
        .resource(client("built:"))
        .resources(Resources::new().with(Arc::clone(&calls)))
        .build()
        .unwrap();
    // `resources(..)` held the Arc itself: the step asks for the Arc's target type.
    let err = built
        .run(json!("x"))
        .await
        .unwrap()
        .result()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AtomicUsize"), "{err}");

    let mut res = Resources::new();
    res.insert(client("macro:"));
    res.insert_arc(Arc::clone(&calls));
    let wf = workflow!("call", [call]).with_resources(res);
    let stop = wf.run(json!("y")).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!("macro:y"));
    // A later `with_resource` replaces the value of that type for new runs.
    let wf = wf.with_resource(client("again:"));
    let stop = wf.run(json!("z")).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!("again:z"));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(wf.resources().len(), 2);
}

#[tokio::test]
async fn a_missing_resource_names_the_step_and_the_type() {
    let wf = workflow!("call", [call]);
    let err = wf
        .run(json!("x"))
        .await
        .unwrap()
        .result()
        .await
        .unwrap_err();
    let WorkflowError::Step { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(&**source, WorkflowError::MissingResource { step, resource }
            if step == "call" && resource.ends_with("Client")),
        "{source:?}"
    );
}

#[test]
fn a_detached_context_carries_resources_for_unit_tests() {
    let ctx = Context::detached_with(
        Resources::new()
            .with(client("unit:"))
            .with(std::sync::atomic::AtomicUsize::new(0)),
    );
    let stop = futures::executor::block_on(call(&ctx, StartEvent::new(json!("t")))).unwrap();
    assert_eq!(stop.result, json!("unit:t"));
    assert!(matches!(
        Context::detached().resource::<Client>(),
        Err(WorkflowError::MissingResource { .. })
    ));
}

#[test]
fn debug_shows_resource_types_never_their_values() {
    let wf = workflow!("call", [call]).with_resource(client("p"));
    let shown = format!("{wf:?} {:?}", wf.resources());
    assert!(shown.contains("Client"), "{shown}");
    assert!(!shown.contains("sk-secret-value"), "{shown}");
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Go;

#[step(waits_for = [Go])]
async fn wait_then_call(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    let _: Go = ctx.wait_for_event().await?;
    Ok(StopEvent::new(json!(ctx.resource::<Client>()?.prefix)))
}

#[tokio::test]
async fn resources_are_not_in_snapshots_a_resumed_run_uses_the_resuming_workflows() {
    let first = workflow!("w", [wait_then_call]).with_resource(client("old"));
    let handler = first.run(json!({})).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let snap = handler.pause().await.unwrap();
    let json = snap.to_json().unwrap();
    assert!(!json.contains("sk-secret-value"), "{json}");

    let second = workflow!("w", [wait_then_call]).with_resource(client("new"));
    let resumed = second.resume(snap).await.unwrap();
    resumed.send_event(Go).unwrap();
    assert_eq!(resumed.result().await.unwrap().result, json!("new"));
}
