//! `#[event(one_of)]`: an enum whose variants each wrap one event type emits the wrapped event
//! and, as a step's parameter, receives any of them.
use blazen::prelude::*;
use blazen::IntoStepOutput;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Left {
    n: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Right {
    s: String,
}

#[derive(Debug, Event)]
#[event(one_of)]
enum Side {
    L(Left),
    R(Right),
}

fn main() {
    let out = Side::L(Left { n: 1 }).into_step_output().unwrap();
    match out {
        StepOutput::Single(ev) => assert_eq!(ev.event_type(), "Left"),
        other => panic!("unexpected {other:?}"),
    }
    let out = Side::R(Right { s: "x".into() }).into_step_output().unwrap();
    assert!(matches!(out, StepOutput::Single(ev) if ev.event_type() == "Right"));
}
