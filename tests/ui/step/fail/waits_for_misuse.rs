use blazen::prelude::*;

struct NotAnEvent;

#[step(waits_for = [])]
async fn nothing(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(waits_for = NotAnEvent)]
async fn not_a_list(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(waits_for = [NotAnEvent])]
async fn not_an_event(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn main() {}
