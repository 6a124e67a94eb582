//! Routing: chains, events accepted by several steps, dynamic events, unrouted events.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use blazen::prelude::*;
use blazen::{EventInfo, StepOutput};
use rt::{ev, step, Done, Num, Word};

#[tokio::test]
async fn a_chain_of_typed_steps_runs_to_the_stop_event() {
    let wf = Workflow::builder("chain")
        .step(
            step("start", |_ctx, s: StartEvent| async move {
                Num {
                    n: s.get("n").and_then(|v| v.as_u64()).unwrap_or(0),
                }
            })
            .emits(ev::<Num>()),
        )
        .step(step("double", |_ctx, x: Num| async move { Done { n: x.n * 2 } }).emits(ev::<Done>()))
        .step(
            step(
                "stop",
                |_ctx, d: Done| async move { StopEvent::new(json!(d.n)) },
            )
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({"n": 21})).await.unwrap();
    assert_eq!(handler.result().await.unwrap().result, json!(42));
    // The outcome can be read again.
    assert_eq!(handler.result().await.unwrap().result, json!(42));
}

#[tokio::test]
async fn an_event_accepted_by_several_steps_reaches_each() {
    let hits = Arc::new(AtomicUsize::new(0));
    let left_hits = Arc::clone(&hits);
    let left = Step::new("left", move |ctx, event| {
        let hits = Arc::clone(&left_hits);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let n = event.to_json()["n"].as_u64().unwrap_or(0);
            Ok(match ctx.collect_events(Done { n }, 2) {
                Some(all) => StepOutput::Single(Box::new(StopEvent::new(json!(all
                    .iter()
                    .map(|d| d.n)
                    .sum::<u64>())))),
                None => StepOutput::None,
            })
        }
    })
    .accepts(ev::<Num>())
    .accepts(ev::<Done>())
    .emits(ev::<StopEvent>());
    let right_hits = Arc::clone(&hits);
    let wf = Workflow::builder("multi")
        .step(step("start", |_ctx, _s: StartEvent| async { Num { n: 5 } }).emits(ev::<Num>()))
        .step(left)
        .step(
            step("right", move |_ctx, x: Num| {
                let hits = Arc::clone(&right_hits);
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    Done { n: x.n + 1 }
                }
            })
            .emits(ev::<Done>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    // left saw Num(5) and Done(6); right saw Num(5).
    assert_eq!(stop.result, json!(11));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_dynamic_event_reaches_the_typed_step_of_its_name() {
    let wf = Workflow::builder("dynamic")
        .step(
            Step::new("start", |_ctx, _ev| async {
                Ok(StepOutput::Single(Box::new(DynamicEvent::new(
                    "Word",
                    json!({"text": "hello", "score": 0.9}),
                ))))
            })
            .accepts(ev::<StartEvent>())
            .emits(EventInfo::named("Word")),
        )
        .step(
            step("analyze", |_ctx, w: Word| async move {
                StopEvent::new(json!({"text": w.text, "score": w.score}))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!({"text": "hello", "score": 0.9}));
}

#[tokio::test]
async fn a_dynamic_event_that_does_not_fit_fails_naming_the_event_and_field() {
    let wf = Workflow::builder("dynamic-bad")
        .step(
            Step::new("start", |_ctx, _ev| async {
                Ok(StepOutput::Single(Box::new(DynamicEvent::new(
                    "Word",
                    json!({"text": "hello", "score": "high"}),
                ))))
            })
            .accepts(ev::<StartEvent>())
            .emits(EventInfo::named("Word")),
        )
        .step(
            step("analyze", |_ctx, w: Word| async move {
                StopEvent::new(json!(w.text))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, WorkflowError::Step { ref step, .. } if step == "analyze"),
        "{err:?}"
    );
    assert!(text.contains("Word") && text.contains("score"), "{text}");
    let WorkflowError::Step { source, .. } = err else {
        unreachable!()
    };
    assert!(
        matches!(*source, WorkflowError::EventDecode { ref event, ref message } if event == "Word" && message.contains("score")),
        "{source:?}"
    );
}

#[tokio::test]
async fn an_event_no_step_accepts_fails_naming_event_and_sender() {
    let wf = Workflow::builder("unrouted")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                ctx.send_event(DynamicEvent::new("Ghost", json!({})));
                // Keep running a little so the failure is not a stall.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                StopEvent::new(json!("too late"))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    match err {
        WorkflowError::UnroutedEvent { event, sender } => {
            assert_eq!(event, "Ghost");
            assert_eq!(sender, "start");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn send_event_routes_like_a_return_value() {
    let wf = Workflow::builder("send")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                for n in 0..3 {
                    ctx.send_event(Num { n });
                }
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("sum", |ctx: Context, x: Num| async move {
                ctx.collect_events(x, 3)
                    .map(|all| StopEvent::new(json!(all.iter().map(|x| x.n).sum::<u64>())))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(3));
}

#[tokio::test]
async fn build_reports_graph_defects_as_an_error_value() {
    let orphan = step("orphan", |_ctx, _x: Num| async {}).emits(ev::<StopEvent>());
    let err = Workflow::builder("bad")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .step(orphan)
        .build()
        .unwrap_err();
    match err {
        WorkflowError::Graph(defects) => {
            assert!(!defects.is_empty());
            let text = defects
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(text.contains("orphan"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn run_id_is_shared_by_handler_and_context() {
    let wf = Workflow::builder("ids")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                StopEvent::new(json!(ctx.run_id().to_string()))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let h = wf.run(json!({})).await.unwrap();
    let stop = h.result().await.unwrap();
    assert_eq!(stop.result, json!(h.run_id().to_string()));
    let h2 = wf.run(json!({})).await.unwrap();
    assert_ne!(h.run_id(), h2.run_id());
}
