//! `spin` feeds itself forever: no step emits StopEvent.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Spin;

#[step]
fn start(_ev: StartEvent) -> Spin {
    Spin
}

#[step]
fn spin(_ev: Spin) -> Spin {
    Spin
}

fn main() {
    let _wf = workflow!("no_path_to_stop", [start, spin]);
}
