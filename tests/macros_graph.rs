//! Run-time parity of the compile-time graph checks: each failing graph of
//! `tests/ui/workflow/fail/` is built here with `Workflow::builder` from the same steps, and
//! `build()` must return the same defects — each of which the compile-time error lists, word
//! for word, in the case's `.stderr` file.

use blazen::graph::{GraphCheck, GraphDefect};
use blazen::prelude::*;
use blazen::Workflow;

/// The defects `build()` reports for `steps`, after checking that the compile-time error of
/// `tests/ui/workflow/fail/<case>.rs` states each one.
fn defects(case: &str, steps: Vec<Step>) -> Vec<GraphDefect> {
    let mut builder = Workflow::builder(case);
    for s in steps {
        builder = builder.step(s);
    }
    let defects = match builder.build() {
        Err(WorkflowError::Graph(d)) => d,
        Err(other) => panic!("{case}: unexpected error {other}"),
        Ok(_) => panic!("{case}: the graph was accepted"),
    };
    let path = format!(
        "{}/tests/ui/workflow/fail/{case}.stderr",
        env!("CARGO_MANIFEST_DIR")
    );
    let stderr = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for d in &defects {
        // trybuild writes the test crate's name as `$CRATE` in type identities.
        let line = format!("  - {d}").replace(concat!(module_path!(), "::"), "$CRATE::");
        assert!(
            stderr.contains(&line),
            "{case}: the compile-time error does not state `{d}`:\n{stderr}"
        );
    }
    let count = defects.len();
    let header = format!(
        "has {count} graph defect{}:",
        if count == 1 { "" } else { "s" }
    );
    assert!(
        stderr.contains(&header),
        "{case}: expected `{header}` in\n{stderr}"
    );
    defects
}

fn s(x: &str) -> String {
    x.to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ghost;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Work;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Orphan;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ping;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Pong;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Spin;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Note;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

#[derive(Debug, Event)]
#[event(one_of)]
enum PongOrStop {
    Pong(Pong),
    Stop(StopEvent),
}

#[derive(Debug, Event)]
#[event(one_of)]
enum BOrStop {
    B(B),
    Stop(StopEvent),
}

mod one {
    use blazen::prelude::*;
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub(crate) struct Item;
}

mod two {
    use blazen::prelude::*;
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub(crate) struct Item;
}

#[step]
fn stop_at_once(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(emits = [Ghost], name = "start")]
fn start_ghost(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[test]
fn unaccepted() {
    let d = defects("unaccepted", vec![start_ghost::step()]);
    assert_eq!(
        d,
        [GraphDefect::UnacceptedEvent {
            event: s("Ghost"),
            step: s("start")
        }]
    );
}

#[step(name = "start")]
fn start_work(_ev: StartEvent) -> Work {
    Work
}

#[step(accepts = [Work, Orphan])]
fn worker(_ev: Box<dyn Event>) -> StopEvent {
    StopEvent::default()
}

#[test]
fn unemitted() {
    let d = defects("unemitted", vec![start_work::step(), worker::step()]);
    assert_eq!(
        d,
        [GraphDefect::UnemittedEvent {
            event: s("Orphan"),
            step: s("worker")
        }]
    );
}

#[step(name = "start")]
fn start_stop(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn ping(_ev: Ping) -> PongOrStop {
    PongOrStop::Pong(Pong)
}

#[step]
fn pong(_ev: Pong) -> Ping {
    Ping
}

#[test]
fn unreachable() {
    let d = defects(
        "unreachable",
        vec![start_stop::step(), ping::step(), pong::step()],
    );
    assert_eq!(
        d,
        [
            GraphDefect::Unreachable { step: s("ping") },
            GraphDefect::Unreachable { step: s("pong") }
        ]
    );
}

#[step(name = "start")]
fn start_spin(_ev: StartEvent) -> Spin {
    Spin
}

#[step]
fn spin(_ev: Spin) -> Spin {
    Spin
}

#[test]
fn no_path_to_stop() {
    let d = defects("no_path_to_stop", vec![start_spin::step(), spin::step()]);
    assert_eq!(d, [GraphDefect::NoPathToStop]);
}

#[step(emits = [Note], name = "start")]
fn start_note(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn sink(_ev: Note) {}

#[test]
fn dead_end() {
    let d = defects("dead_end", vec![start_note::step(), sink::step()]);
    assert_eq!(d, [GraphDefect::DeadEnd { step: s("sink") }]);
}

#[step]
fn after(_ev: StopEvent) {}

#[test]
fn accepts_stop() {
    let d = defects("accepts_stop", vec![start_stop::step(), after::step()]);
    assert_eq!(
        d,
        [
            GraphDefect::AcceptsStop { step: s("after") },
            GraphDefect::Unreachable { step: s("after") }
        ]
    );
}

#[test]
fn duplicate_step() {
    let d = defects(
        "duplicate_step",
        vec![start_stop::step(), start_stop::step()],
    );
    assert_eq!(d, [GraphDefect::DuplicateStep { step: s("start") }]);
}

#[step]
fn work(_ev: A) -> BOrStop {
    BOrStop::Stop(StopEvent::default())
}

#[step]
fn make(_ev: B) -> A {
    A
}

#[test]
fn no_start() {
    let d = defects("no_start", vec![work::step(), make::step()]);
    assert_eq!(d, [GraphDefect::NoStartStep]);
}

#[step(name = "start")]
fn start_item(_ev: StartEvent) -> one::Item {
    one::Item
}

#[step]
fn finish(_ev: two::Item) -> StopEvent {
    StopEvent::default()
}

#[test]
fn clash() {
    let d = defects("clash", vec![start_item::step(), finish::step()]);
    assert_eq!(
        d,
        [GraphDefect::EventNameClash {
            event: s("Item"),
            first: one::Item::EVENT_IDENTITY.to_owned(),
            first_step: s("start"),
            second: two::Item::EVENT_IDENTITY.to_owned(),
            second_step: s("finish"),
        }]
    );
}

#[step(emits = [Ghost, Note], name = "start")]
fn start_many(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn lonely(_ev: Orphan) -> StopEvent {
    StopEvent::default()
}

#[step(name = "sink")]
fn sink_again(_ev: Note) -> StopEvent {
    StopEvent::default()
}

#[test]
fn many_defects() {
    let d = defects(
        "many_defects",
        vec![
            start_many::step(),
            lonely::step(),
            sink::step(),
            sink_again::step(),
        ],
    );
    assert_eq!(
        d,
        [
            GraphDefect::DuplicateStep { step: s("sink") },
            GraphDefect::UnacceptedEvent {
                event: s("Ghost"),
                step: s("start")
            },
            GraphDefect::UnemittedEvent {
                event: s("Orphan"),
                step: s("lonely")
            },
            GraphDefect::Unreachable { step: s("lonely") },
            GraphDefect::DeadEnd { step: s("sink") },
        ]
    );
}

#[test]
fn allowed_checks_are_skipped_at_run_time_too() {
    let wf = Workflow::builder("allowed")
        .step(start_note::step())
        .step(sink::step())
        .allow(GraphCheck::DeadEnd)
        .build();
    assert!(wf.is_ok());
    let sound = Workflow::builder("sound")
        .step(stop_at_once::step())
        .build();
    assert!(sound.is_ok());
}

#[tokio::test]
async fn a_macro_built_workflow_runs_and_charts() {
    let wf = workflow!("once", [stop_at_once]);
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(null));
    assert_eq!(
        wf.to_mermaid(),
        "---\ntitle: once\n---\nflowchart TD\n    start([\"StartEvent\"])\n    s0[\"stop_at_once\"]\n    stop([\"StopEvent\"])\n    start -->|\"StartEvent\"| s0\n    s0 -->|\"StopEvent\"| stop\n"
    );
}
