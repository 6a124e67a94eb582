//! Waiting for a specific event inside a step (`ctx.wait_for_event`): events from outside and
//! from other steps, events that arrive before the wait, matching, declaration, timeouts, the
//! graph check, and durability (pause while waiting, resume; checkpoint while waiting, resume
//! in a "new process").

use std::sync::Arc;
use std::time::Duration;

use blazen::graph::check;
use blazen::persist::{CheckpointStore, InMemoryStore, WorkflowSnapshot};
use blazen::prelude::*;
use blazen::{EventInfo, StepOutput};
use futures::StreamExt;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Approval {
    approved: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Comment {
    text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Asked {
    id: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ask {
    id: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Answer {
    id: u32,
    value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Answered {
    id: u32,
    value: String,
}

/// Waits for an approval, then a comment; tells the stream it is waiting first.
#[step(waits_for = [Approval, Comment])]
async fn review(ctx: &Context, ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    // How many times the step started (code before a wait runs again after a resume).
    ctx.update("starts", |n: Option<u32>| n.unwrap_or(0) + 1)?;
    ctx.write_event_to_stream(Asked { id: 0 });
    let approval: Approval = ctx.wait_for_event().await?;
    let comment: Comment = ctx.wait_for_event().await?;
    Ok(StopEvent::new(json!({
        "draft": ev.data,
        "approved": approval.approved,
        "comment": comment.text,
    })))
}

/// Reads the run's stream until the step says it waits.
async fn until_asked(stream: &mut blazen::workflow::EventStream) {
    while let Some(ev) = stream.next().await {
        if ev.is::<Asked>() {
            return;
        }
    }
    panic!("the stream ended before the step waited");
}

#[tokio::test]
async fn a_step_waits_for_events_sent_from_outside() {
    let wf = workflow!("review", [review]);
    let handler = wf.run(json!("post")).await.unwrap();
    let mut stream = handler.stream_events();
    until_asked(&mut stream).await;
    handler.send_event(Approval { approved: true }).unwrap();
    handler
        .send_event(Comment {
            text: "ship it".into(),
        })
        .unwrap();
    let stop = handler.result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"draft": "post", "approved": true, "comment": "ship it"})
    );
    // The run is over: nothing more can be sent.
    assert!(matches!(
        handler.send_event(Approval { approved: false }),
        Err(WorkflowError::NotRunning { .. })
    ));
}

#[tokio::test]
async fn events_sent_before_the_wait_are_held_in_order_of_arrival() {
    // Both events arrive before the step has even started waiting (and in the opposite
    // order of its waits): each wait takes the event of its type.
    let wf = workflow!("review", [review]);
    let handler = wf.run(json!("early")).await.unwrap();
    handler
        .send_event(Comment {
            text: "first".into(),
        })
        .unwrap();
    handler.send_event(Approval { approved: false }).unwrap();
    let stop = handler.result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"draft": "early", "approved": false, "comment": "first"})
    );
}

/// Sends an approval and a comment to its sibling step, then returns.
#[step(emits = [Approval, Comment])]
fn approver(ctx: &Context, _ev: StartEvent) {
    ctx.send_event(Approval { approved: true });
    ctx.send_event(Comment {
        text: "from a step".into(),
    });
}

#[tokio::test]
async fn a_step_waits_for_events_another_step_sends() {
    // `approver` emits events that only `review` waits for: the graph check counts the wait
    // as consuming them.
    let wf = workflow!("pair", [review, approver]);
    let stop = wf.run(json!("p")).await.unwrap().result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"draft": "p", "approved": true, "comment": "from a step"})
    );
}

#[step]
fn fan_out(_ev: StartEvent) -> Vec<Ask> {
    (1..=3).map(|id| Ask { id }).collect()
}

/// Waits for the answer to its own question.
#[step(waits_for = [Answer])]
async fn ask(ctx: &Context, q: Ask) -> Result<Answered, WorkflowError> {
    let id = q.id;
    let answer = ctx
        .wait_for_event_matching(move |a: &Answer| a.id == id)
        .await?;
    Ok(Answered {
        id: q.id,
        value: answer.value,
    })
}

#[step]
fn gather(ctx: &Context, a: Answered) -> Option<StopEvent> {
    ctx.collect_events(a, 3).map(|mut all| {
        all.sort_by_key(|a| a.id);
        let pairs: Vec<_> = all.iter().map(|a| (a.id, a.value.clone())).collect();
        StopEvent::new(json!(pairs))
    })
}

#[tokio::test]
async fn each_wait_takes_the_event_its_filter_matches() {
    let wf = workflow!("questions", [fan_out, ask, gather]);
    let handler = wf.run(json!({})).await.unwrap();
    // Answers in the reverse order, some before their question waits: each reaches its own
    // question (held ones included); one arrives as plain JSON (a `DynamicEvent`).
    handler
        .send_event(Answer {
            id: 3,
            value: "c".into(),
        })
        .unwrap();
    handler
        .send_event(DynamicEvent::new("Answer", json!({"id": 2, "value": "b"})))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    handler
        .send_event(Answer {
            id: 1,
            value: "a".into(),
        })
        .unwrap();
    let stop = handler.result().await.unwrap();
    assert_eq!(stop.result, json!([[1, "a"], [2, "b"], [3, "c"]]));
}

#[step]
async fn sneaky(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    let a: Approval = ctx.wait_for_event().await?;
    Ok(StopEvent::new(json!(a.approved)))
}

#[tokio::test]
async fn an_undeclared_wait_fails_naming_the_step_and_the_event() {
    let wf = workflow!("sneaky", [sneaky]);
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    let WorkflowError::Step { step, source, .. } = &err else {
        panic!("expected a step error, got {err:?}");
    };
    assert_eq!(step, "sneaky");
    assert!(
        matches!(&**source, WorkflowError::UndeclaredWait { step, event }
            if step == "sneaky" && event.ends_with("Approval")),
        "{source:?}"
    );
    assert!(err.to_string().contains("waits_for"), "{err}");
}

#[tokio::test]
async fn the_step_timeout_bounds_the_wait() {
    let wf = Workflow::builder("slow")
        .step(review::step().timeout(Duration::from_millis(50)))
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(matches!(err, WorkflowError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("review"), "{err}");
}

#[tokio::test]
async fn pause_while_waiting_keeps_the_step_and_the_held_events() {
    let wf = workflow!("review", [review]);
    let handler = wf.run(json!("draft")).await.unwrap();
    let mut stream = handler.stream_events();
    until_asked(&mut stream).await;
    // The step waits for an approval; a comment arrives first and is held.
    handler
        .send_event(Comment {
            text: "held".into(),
        })
        .unwrap();
    // Pause does not wait for the waiting step: the snapshot holds it in flight.
    let snap = pause_while_waiting(&handler).await;
    for _ in 0..2 {
        // Asked again, the outcome is still the typed `Paused`.
        assert!(matches!(
            handler.result().await,
            Err(WorkflowError::Paused { run_id }) if run_id == handler.run_id()
        ));
    }
    assert_eq!(snap.in_flight.len(), 1);
    assert_eq!(snap.in_flight[0].target_step.as_deref(), Some("review"));
    assert_eq!(snap.held.len(), 1, "the held comment: {:?}", snap.held);
    assert!(snap.held[0].event_type.ends_with("Comment"));
    assert!(snap.queued.is_empty(), "{:?}", snap.queued);

    // Through JSON, as a store would keep it.
    let snap = WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap();
    let resumed = wf.resume(snap).await.unwrap();
    handler_approves(&resumed);
    let stop = resumed.result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"draft": "draft", "approved": true, "comment": "held"})
    );
    // The step ran again from its start after the resume (at-least-once); the count kept in
    // the context survived the snapshot.
    let ctx = resumed.context().expect("live context");
    assert_eq!(ctx.get::<u32>("starts").unwrap(), Some(2));
}

/// Pauses a run whose step waits: the pause does not wait for the step.
async fn pause_while_waiting(handler: &WorkflowHandler) -> WorkflowSnapshot {
    tokio::time::timeout(Duration::from_secs(5), handler.pause())
        .await
        .expect("pause returns while a step waits")
        .unwrap()
}

fn handler_approves(handler: &WorkflowHandler) {
    handler.send_event(Approval { approved: true }).unwrap();
}

#[tokio::test]
async fn a_run_whose_steps_wait_is_checkpointed_and_resumes_in_a_new_process() {
    let store = InMemoryStore::new();
    let run_id = {
        let wf = Workflow::builder("review")
            .step(review::step())
            .checkpoint(store.clone())
            .build()
            .unwrap();
        let handler = wf.run(json!("crash")).await.unwrap();
        let mut stream = handler.stream_events();
        until_asked(&mut stream).await;
        // Nothing runs but the waiting step: the run saves its state once.
        let id = handler.run_id();
        for _ in 0..1_000 {
            if store.load(id).await.unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        id
        // The handler is dropped: nobody can send here; the run's task ends.
    };
    let saved = store.load(run_id).await.unwrap().expect("checkpoint saved");
    assert_eq!(saved.in_flight.len(), 1);

    // A "new process": a new workflow value resumes from the store.
    let wf = Workflow::builder("review")
        .step(review::step())
        .checkpoint(store.clone())
        .build()
        .unwrap();
    let handler = wf.resume_from(&store, run_id).await.unwrap();
    handler.send_event(Approval { approved: true }).unwrap();
    handler
        .send_event(Comment {
            text: "after restart".into(),
        })
        .unwrap();
    let stop = handler.result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"draft": "crash", "approved": true, "comment": "after restart"})
    );
}

#[test]
fn the_graph_counts_a_wait_as_consuming_the_event_and_the_fingerprint_sees_it() {
    // `approver` emits Approval and Comment; only `review` waits for them.
    let with_waits = [review::step(), approver::step()];
    assert!(check(&with_waits).is_empty(), "{:?}", check(&with_waits));
    // Without the wait, the same events are emitted and accepted by nobody.
    let plain = Step::new("review", |_c, _e| async { Ok(StepOutput::None) })
        .accepts(EventInfo::of::<StartEvent>())
        .emits(EventInfo::of::<StopEvent>());
    let defects = check(&[plain.clone(), approver::step()]);
    assert_eq!(
        defects
            .iter()
            .filter(|d| d.to_string().contains("approver"))
            .count(),
        3,
        "Approval and Comment unaccepted, approver a dead end: {defects:?}"
    );
    let waiting = plain.clone().waits_for(EventInfo::of::<Approval>());
    assert_ne!(
        blazen::persist::fingerprint(&[plain]),
        blazen::persist::fingerprint(std::slice::from_ref(&waiting))
    );
    assert_eq!(waiting.awaited()[0].name, Approval::EVENT_TYPE);
    let mermaid = workflow!("pair", [review, approver]).to_mermaid();
    assert!(mermaid.contains("-.->"), "{mermaid}");
}

#[step]
fn many(_ev: StartEvent) -> Vec<Ask> {
    (1..=200).map(|id| Ask { id }).collect()
}

#[step]
fn gather_all(ctx: &Context, a: Answered) -> Option<StopEvent> {
    ctx.collect_events(a, 200).map(|all| {
        let ok = all.iter().all(|a| a.value == a.id.to_string());
        StopEvent::new(json!({"n": all.len(), "ok": ok}))
    })
}

#[tokio::test]
async fn many_waiters_and_many_events_lose_nothing() {
    // 200 questions waiting at once, answered from outside in a shuffled order.
    let wf = workflow!("many", [many, ask, gather_all]);
    let handler = Arc::new(wf.run(json!({})).await.unwrap());
    let mut ids: Vec<u32> = (1..=200).collect();
    // A fixed shuffle (no randomness in tests): odd ids descending, then even ascending.
    ids.sort_by_key(|&i| {
        if i % 2 == 1 {
            (0, u32::MAX - i)
        } else {
            (1, i)
        }
    });
    for id in ids {
        handler
            .send_event(Answer {
                id,
                value: id.to_string(),
            })
            .unwrap();
        if id % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let stop = handler.result().await.unwrap();
    assert_eq!(stop.result, json!({"n": 200, "ok": true}));
}

/// `review`, telling the stream again once it has taken the approval.
#[step(waits_for = [Approval, Comment])]
async fn review_in_two(ctx: &Context, ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    ctx.write_event_to_stream(Asked { id: 0 });
    let approval: Approval = ctx.wait_for_event().await?;
    ctx.write_event_to_stream(Asked { id: 1 });
    let comment: Comment = ctx.wait_for_event().await?;
    Ok(StopEvent::new(json!({
        "draft": ev.data,
        "approved": approval.approved,
        "comment": comment.text,
    })))
}

#[tokio::test]
async fn an_event_a_wait_already_took_is_kept_when_the_run_pauses_at_the_next_wait() {
    // The step took the approval and waits for a comment: the approval lives only in the
    // step. The snapshot must hold it, since the step runs again from its start on resume.
    let wf = workflow!("review", [review_in_two]);
    let handler = wf.run(json!("draft")).await.unwrap();
    let mut stream = handler.stream_events();
    until_asked(&mut stream).await;
    handler_approves(&handler);
    until_asked(&mut stream).await;
    let snap = pause_while_waiting(&handler).await;
    assert_eq!(snap.in_flight.len(), 1);
    assert_eq!(snap.held.len(), 1, "the approval: {:?}", snap.held);
    assert!(snap.held[0].event_type.ends_with("Approval"));
    assert!(snap.queued.is_empty(), "{:?}", snap.queued);

    let snap = WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap();
    let resumed = wf.resume(snap).await.unwrap();
    resumed
        .send_event(Comment {
            text: "after resume".into(),
        })
        .unwrap();
    let stop = tokio::time::timeout(Duration::from_secs(5), resumed.result())
        .await
        .expect("the resumed step finds the approval it had taken")
        .unwrap();
    assert_eq!(
        stop.result,
        json!({"draft": "draft", "approved": true, "comment": "after resume"})
    );
}

/// Collects the three asks, then waits for an approval of the batch.
#[step(waits_for = [Approval])]
async fn collect_then_approve(ctx: &Context, q: Ask) -> Result<Option<StopEvent>, WorkflowError> {
    let Some(mut all) = ctx.collect_events(q, 3) else {
        return Ok(None);
    };
    ctx.write_event_to_stream(Asked { id: 9 });
    let approval: Approval = ctx.wait_for_event().await?;
    all.sort_by_key(|a| a.id);
    let ids: Vec<u32> = all.iter().map(|a| a.id).collect();
    Ok(Some(StopEvent::new(
        json!({"ids": ids, "approved": approval.approved}),
    )))
}

#[tokio::test]
async fn a_fan_in_batch_taken_by_a_step_that_then_waits_survives_pause_and_resume() {
    // Not a checkpointing workflow: only the pause snapshot keeps the run.
    let wf = workflow!("batch", [fan_out, collect_then_approve]);
    let handler = wf.run(json!({})).await.unwrap();
    let mut stream = handler.stream_events();
    until_asked(&mut stream).await;
    let snap = pause_while_waiting(&handler).await;
    // The execution holding the batch is in flight; the two events it took from the
    // buffer are back in the buffer, and its own input is in flight (not both).
    assert_eq!(snap.in_flight.len(), 1, "{:?}", snap.in_flight);
    let buffered: usize = snap.fan_in.iter().map(|b| b.events.len()).sum();
    assert_eq!(buffered, 2, "{:?}", snap.fan_in);

    let snap = WorkflowSnapshot::from_json(&snap.to_json().unwrap()).unwrap();
    let resumed = wf.resume(snap).await.unwrap();
    handler_approves(&resumed);
    let stop = tokio::time::timeout(Duration::from_secs(5), resumed.result())
        .await
        .expect("the resumed collector gets its whole batch again")
        .unwrap();
    assert_eq!(stop.result, json!({"ids": [1, 2, 3], "approved": true}));
}
