//! `Either` / `OneOf3`: a step emitting one of several types without an enum of its own, and
//! `Context::collect_any`: fan-in over several event types in arrival order.

use blazen::prelude::*;

/// The `n`th fruit picked, of `of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Event)]
struct Apple {
    n: usize,
    of: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Event)]
struct Pear {
    n: usize,
    of: usize,
}

/// Picks a fruit per letter of the input's pattern: `a` an apple, anything else a pear.
#[step]
fn pick(ev: StartEvent) -> Vec<Either<Apple, Pear>> {
    let pattern = ev.get("pattern").and_then(|p| p.as_str()).unwrap_or("");
    let of = pattern.len();
    pattern
        .chars()
        .zip(1..)
        .map(|(c, n)| match c {
            'a' => Either::Left(Apple { n, of }),
            _ => Either::Right(Pear { n, of }),
        })
        .collect()
}

/// Gathers every fruit picked into one batch, whatever its type.
#[step(max_concurrency = 1)]
fn basket(ctx: &Context, ev: Either<Apple, Pear>) -> Option<StopEvent> {
    let want = match &ev {
        Either::Left(Apple { of, .. }) | Either::Right(Pear { of, .. }) => *of,
    };
    let before = ctx.collected_count::<Either<Apple, Pear>>();
    let Some(all) = ctx.collect_any(ev, want) else {
        assert_eq!(ctx.collected_count::<Either<Apple, Pear>>(), before + 1);
        return None;
    };
    assert_eq!(ctx.collected_count::<Either<Apple, Pear>>(), 0);
    let shown: Vec<String> = all
        .iter()
        .map(|f| match f {
            Either::Left(Apple { n, .. }) => format!("a{n}"),
            Either::Right(Pear { n, .. }) => format!("p{n}"),
        })
        .collect();
    Some(StopEvent::new(json!(shown.join(" "))))
}

async fn basket_of(pattern: &str) -> serde_json::Value {
    let wf = workflow!("basket", [pick, basket]);
    let handler = wf.run(json!({ "pattern": pattern })).await.unwrap();
    handler.result().await.unwrap().result
}

#[tokio::test]
async fn collect_any_gathers_both_types_in_one_batch_in_arrival_order() {
    assert_eq!(basket_of("apaap").await, json!("a1 p2 a3 a4 p5"));
    assert_eq!(basket_of("pp").await, json!("p1 p2"));
    assert_eq!(basket_of("a").await, json!("a1"));
}

#[tokio::test]
async fn collect_any_of_nothing_is_an_empty_batch_at_once() {
    let step = Step::new("zero", |ctx, ev| async move {
        let ev: StartEvent = blazen::downcast_event(ev)?;
        let all = ctx.collect_any::<Either<StartEvent, Apple>>(Either::Left(ev), 0);
        assert_eq!(all.map(|a| a.len()), Some(0));
        assert_eq!(ctx.collected_count::<Either<StartEvent, Apple>>(), 0);
        Ok(StepOutput::Single(Box::new(StopEvent::new(json!("empty")))))
    })
    .accepts(EventInfo::of::<StartEvent>())
    .emits(EventInfo::of::<StopEvent>());
    let wf = Workflow::builder("zero").step(step).build().unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!("empty"));
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Fig;

/// Three ways to go on, each an edge of the graph.
#[step]
fn sort(ev: StartEvent) -> Result<OneOf3<Apple, Pear, Fig>, WorkflowError> {
    match ev.get("kind").and_then(|k| k.as_str()) {
        Some("apple") => Ok(OneOf3::First(Apple { n: 1, of: 1 })),
        Some("pear") => Ok(OneOf3::Second(Pear { n: 1, of: 1 })),
        Some("fig") => Ok(OneOf3::Third(Fig)),
        _ => Err(WorkflowError::msg("unknown fruit")),
    }
}

#[step]
fn fig(_ev: Fig) -> StopEvent {
    StopEvent::new(json!("fig"))
}

#[tokio::test]
async fn each_arm_of_a_choice_is_routed_to_its_step() {
    let wf = workflow!("sort", [sort, basket, fig]);
    for (kind, expected) in [("apple", "a1"), ("pear", "p1"), ("fig", "fig")] {
        let stop = wf
            .run(json!({ "kind": kind }))
            .await
            .unwrap()
            .result()
            .await
            .unwrap();
        assert_eq!(stop.result, json!(expected), "{kind}");
    }
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(err.to_string().contains("unknown fruit"), "{err}");
}

#[test]
fn choices_are_importable_from_the_root_and_the_prelude() {
    let _: blazen::Either<Fig, Fig> = Either::Left(Fig);
    let _: blazen::OneOf3<Fig, Fig, Fig> = OneOf3::Third(Fig);
    fn choice<C: blazen::EventChoice>() {}
    choice::<Either<Apple, Pear>>();
    choice::<Fig>();
}
