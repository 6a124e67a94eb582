use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

#[step(accepts = [A, B])]
fn nothing_to_receive(_ctx: &Context) -> StopEvent {
    StopEvent::default()
}

fn main() {}
