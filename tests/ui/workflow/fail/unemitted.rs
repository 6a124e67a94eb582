//! `worker` accepts `Orphan`, which no step emits.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Work;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Orphan;

#[step]
fn start(_ev: StartEvent) -> Work {
    Work
}

#[step(accepts = [Work, Orphan])]
fn worker(_ev: Box<dyn Event>) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _wf = workflow!("unemitted", [start, worker]);
}
