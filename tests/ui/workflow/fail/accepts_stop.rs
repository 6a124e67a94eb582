//! `after` accepts StopEvent (which is never delivered to a step, so `after` is also
//! unreachable).
use blazen::prelude::*;

#[step]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn after(_ev: StopEvent) {}

fn main() {
    let _wf = workflow!("accepts_stop", [start, after]);
}
