//! Durable runs: a workflow asks a person to approve a draft, the process that asked goes
//! away, and a "new process" answers from the checkpoint store. Then the same with
//! `pause()` and a snapshot passed around as JSON.
//!
//! `cargo run --example durable_approval` (no key, no network; the store is a temp file).

use std::time::Duration;

use blazen::persist::SnapshotStatus;
use blazen::prelude::*;
use blazen::{downcast_event, EventInfo, WorkflowBuilder};
use futures::StreamExt;

/// draft (asks: "Publish this draft?") → publish (uses the answer) → Stop.
fn approval() -> WorkflowBuilder {
    let draft = Step::new("draft", |ctx, ev| async move {
        let start: StartEvent = downcast_event(ev)?;
        let title = start
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or("untitled")
            .to_owned();
        // Everything in the context is part of the snapshot.
        ctx.set("draft", &format!("{title}: ready to ship"))?;
        Ok(StepOutput::Single(Box::new(InputRequiredEvent::new(
            "Publish this draft?",
            json!({ "title": title, "choices": ["yes", "no"] }),
        ))))
    })
    .accepts(EventInfo::of::<StartEvent>())
    .emits(EventInfo::of::<InputRequiredEvent>());

    let publish = Step::new("publish", |ctx, ev| async move {
        let answer: InputResponseEvent = downcast_event(ev)?;
        let draft: Option<String> = ctx.get("draft")?;
        Ok(StepOutput::Single(Box::new(StopEvent::new(json!({
            "draft": draft,
            "published": answer.response == json!("yes"),
        })))))
    })
    .accepts(EventInfo::of::<InputResponseEvent>())
    .emits(EventInfo::of::<StopEvent>());

    Workflow::builder("approval").step(draft).step(publish)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("blazen-durable-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("runs.db");

    // "Process 1": start the run; it asks, and the waiting run is saved to the store.
    let run_id = {
        let store = EmbeddedStore::open(&db)?;
        let wf = approval().checkpoint(store.clone()).build()?;
        let handler = wf.run(json!({ "title": "Release notes" })).await?;
        let mut events = handler.stream_events();
        while let Some(ev) = events.next().await {
            if let Some(req) = ev.downcast_ref::<InputRequiredEvent>() {
                println!("process 1: the run asks {:?} {}", req.prompt, req.metadata);
                break;
            }
        }
        let run_id = handler.run_id();
        while store.load(run_id).await?.map(|s| s.status) != Some(SnapshotStatus::WaitingForInput) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        println!("process 1: run {run_id} saved, waiting for input; exiting");
        run_id
    }; // the workflow, handler and store of "process 1" are gone

    // "Process 2": find the waiting run and answer it.
    let store = EmbeddedStore::open(&db)?;
    for run in store.list().await? {
        println!(
            "process 2: found run {} of `{}`: {:?}",
            run.run_id, run.workflow, run.status
        );
    }
    let snapshot = store
        .load(run_id)
        .await?
        .ok_or("the run is not in the store")?;
    let request = snapshot.input_requests()[0].clone();
    let wf = approval().checkpoint(store.clone()).build()?;
    let handler = wf
        .respond_from(&store, run_id, request.request_id, json!("yes"))
        .await?;
    let stop = handler.result().await?;
    println!("process 2: {}", stop.result);
    assert_eq!(
        stop.result,
        json!({ "draft": "Release notes: ready to ship", "published": true })
    );

    // Pause and resume without a store: the snapshot is plain JSON.
    let wf = approval().build()?;
    let handler = wf.run(json!({ "title": "Blog post" })).await?;
    while handler.input_requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let snapshot = handler.pause().await?;
    let text = snapshot.to_json()?; // store it anywhere
    println!("paused: a {}-byte snapshot", text.len());
    let resumed = wf.resume(WorkflowSnapshot::from_json(&text)?).await?;
    let request = resumed.input_requests()[0].request_id;
    resumed.respond(request, json!("no")).await?;
    println!("resumed: {}", resumed.result().await?.result);

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
