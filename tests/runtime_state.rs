//! Context state: JSON, bytes and typed values survive between steps.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use blazen::prelude::*;
use rt::{ev, step, Num};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    score: Option<f64>,
}

#[tokio::test]
async fn json_bytes_and_typed_values_round_trip_between_steps() {
    let wf = Workflow::builder("state")
        .step(
            step("write", |ctx: Context, _s: StartEvent| async move {
                ctx.set("count", &3u32)?;
                ctx.set("doc", &json!({"a": [1, 2, {"b": null}], "s": "é✓"}))?;
                ctx.set(
                    "profile",
                    &Profile {
                        name: "Ada".into(),
                        tags: vec!["x".into()],
                        score: Some(0.5),
                    },
                )?;
                ctx.set_bytes("blob", vec![0u8, 1, 2, 255]);
                Ok::<_, WorkflowError>(Num { n: 1 })
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("read", |ctx: Context, _x: Num| async move {
                let count: Option<u32> = ctx.get("count")?;
                let doc: Option<serde_json::Value> = ctx.get("doc")?;
                let profile: Option<Profile> = ctx.get("profile")?;
                let missing: Option<String> = ctx.get("missing")?;
                let wrong = ctx.get::<String>("count");
                Ok::<_, WorkflowError>(StopEvent::new(json!({
                    "count": count,
                    "doc": doc,
                    "profile": profile,
                    "blob": ctx.get_bytes("blob"),
                    "blob_as_json": ctx.get::<Vec<u8>>("blob")?,
                    "bytes_of_json": ctx.get_bytes("count"),
                    "missing": missing,
                    "wrong_is_error": matches!(wrong, Err(WorkflowError::State { .. })),
                })))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({
            "count": 3,
            "doc": {"a": [1, 2, {"b": null}], "s": "é✓"},
            "profile": {"name": "Ada", "tags": ["x"], "score": 0.5},
            "blob": [0, 1, 2, 255],
            "blob_as_json": [0, 1, 2, 255],
            "bytes_of_json": null,
            "missing": null,
            "wrong_is_error": true,
        })
    );
}

#[tokio::test]
async fn runs_do_not_share_state() {
    let wf = Workflow::builder("isolated")
        .step(
            step("start", |ctx: Context, s: StartEvent| async move {
                let before: Option<u64> = ctx.get("n")?;
                ctx.set("n", &s.get("n").and_then(|v| v.as_u64()))?;
                Ok::<_, WorkflowError>(StopEvent::new(json!(before)))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    for n in 0..3 {
        let stop = wf
            .run(json!({"n": n}))
            .await
            .unwrap()
            .result()
            .await
            .unwrap();
        assert_eq!(stop.result, json!(null));
    }
}

#[tokio::test]
async fn the_handler_context_reads_state_after_the_run() {
    let wf = Workflow::builder("after")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                ctx.set("answer", &42)?;
                ctx.set_bytes("raw", b"hi".to_vec());
                Ok::<_, WorkflowError>(StopEvent::default())
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let h = wf.run(json!({})).await.unwrap();
    h.result().await.unwrap();
    let ctx = h.context().unwrap();
    assert_eq!(ctx.get::<u32>("answer").unwrap(), Some(42));
    assert_eq!(ctx.get_bytes("raw"), Some(b"hi".to_vec()));
    assert!(ctx.remove("answer"));
    assert_eq!(ctx.get::<u32>("answer").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_is_atomic_across_concurrent_step_instances() {
    let wf = Workflow::builder("counter")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                (0..1_000).map(|n| Num { n }).collect::<Vec<_>>()
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("count", |ctx: Context, _x: Num| async move {
                tokio::task::yield_now().await;
                let seen = ctx.update("seen", |n: Option<u64>| n.unwrap_or(0) + 1)?;
                Ok::<_, WorkflowError>((seen == 1_000).then(|| StopEvent::new(json!(seen))))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(1_000));
}

#[tokio::test]
async fn a_stored_null_reads_as_none_and_get_or_gives_the_default() {
    let ctx = Context::detached();
    ctx.set("k", &None::<String>).unwrap();
    assert_eq!(ctx.get::<String>("k").unwrap(), None);
    assert_eq!(ctx.get_or("k", "dflt".to_owned()).unwrap(), "dflt");
    assert_eq!(ctx.get_or("missing", 3u32).unwrap(), 3);
    ctx.set("k", &Some("v")).unwrap();
    assert_eq!(ctx.get_or("k", "dflt".to_owned()).unwrap(), "v");
    // A value that does not fit is still an error.
    ctx.set("n", &"text").unwrap();
    assert!(ctx.get_or("n", 0u32).is_err());
}

#[tokio::test]
async fn collecting_zero_events_is_an_empty_batch_at_once() {
    let ctx = Context::detached();
    assert_eq!(ctx.collect_events(StartEvent::default(), 0), Some(vec![]));
    // Nothing was buffered.
    assert_eq!(ctx.collected_count::<StartEvent>(), 0);
    assert_eq!(ctx.collect_events(StartEvent::default(), 2), None);
    assert_eq!(ctx.collected_count::<StartEvent>(), 1);
}
