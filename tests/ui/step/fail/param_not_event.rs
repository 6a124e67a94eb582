use blazen::prelude::*;

#[step]
fn takes_string(text: String) -> StopEvent {
    StopEvent::new(json!(text))
}

#[step(emits = [u32])]
fn emits_number(_ev: StartEvent) {}

fn main() {}
