//! No step accepts StartEvent.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

#[derive(Debug, Event)]
#[event(one_of)]
enum BOrStop {
    B(B),
    Stop(StopEvent),
}

#[step]
fn work(_ev: A) -> BOrStop {
    BOrStop::Stop(StopEvent::default())
}

#[step]
fn make(_ev: B) -> A {
    A
}

fn main() {
    let _wf = workflow!("no_start", [work, make]);
}
