//! Several defects at once: all of them are reported in one build.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ghost;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Orphan;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Note;

#[step(emits = [Ghost, Note])]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn lonely(_ev: Orphan) -> StopEvent {
    StopEvent::default()
}

#[step]
fn sink(_ev: Note) {}

#[step(name = "sink")]
fn sink_again(_ev: Note) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _wf = workflow!("many", [start, lonely, sink, sink_again]);
}
