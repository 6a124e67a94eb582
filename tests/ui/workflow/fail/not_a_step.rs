use blazen::prelude::*;

#[step]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn plain() {}

fn main() {
    let _wf = workflow!("not_a_step", [start, plain, missing]);
}
