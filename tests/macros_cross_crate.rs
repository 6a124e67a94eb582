//! `workflow!` over steps of another crate (`tests/crates/steps-fixture`): paths to steps in
//! the other crate and in its modules, events of the other crate accepted by local steps, and
//! the compile-time graph check across the crate boundary (same answers as `build()`).

use blazen::prelude::*;
use blazen_steps_fixture::Greeting;

/// A local step accepting the other crate's event, through an alias (type identity, not
/// spelling, decides).
type Hello = Greeting;

#[step]
fn polite(ev: Hello) -> StopEvent {
    StopEvent::new(json!(format!("{}, please", ev.text)))
}

#[tokio::test]
async fn steps_of_another_crate_and_its_modules() {
    let wf = workflow!(
        "cross",
        [
            blazen_steps_fixture::greet,
            blazen_steps_fixture::shout::loud
        ]
    );
    let stop = wf
        .run(json!({"name": "ada"}))
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(stop.result, json!("HELLO ADA"));
    let names: Vec<&str> = wf.steps().iter().map(|s| s.name()).collect();
    assert_eq!(names, ["greet", "shout"]);
}

#[tokio::test]
async fn a_local_step_accepts_the_other_crates_event() {
    let wf = workflow!("mixed", [blazen_steps_fixture::greet, polite]);
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!("hello world, please"));
    // The run-time builder agrees with the compile-time check.
    assert!(Workflow::builder("mixed")
        .step(blazen_steps_fixture::greet::step())
        .step(polite::step())
        .build()
        .is_ok());
    assert!(matches!(
        Workflow::builder("lonely")
            .step(blazen_steps_fixture::greet::step())
            .build(),
        Err(WorkflowError::Graph(_))
    ));
}
