//! Two steps named `start`.
use blazen::prelude::*;

#[step]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(name = "start")]
fn other(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _wf = workflow!("duplicate_step", [start, other]);
}
