//! `start` sends `Ghost`, which no step accepts.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ghost;

#[step(emits = [Ghost])]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _wf = workflow!("unaccepted", [start]);
}
