//! `sink` accepts `Note` and emits nothing: StopEvent cannot be reached from it.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Note;

#[step(emits = [Note])]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn sink(_ev: Note) {}

fn main() {
    let _wf = workflow!("dead_end", [start, sink]);
}
