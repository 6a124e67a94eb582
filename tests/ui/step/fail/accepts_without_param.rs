use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

#[step(accepts = [A, B])]
fn nothing_to_receive(_ctx: &Context) -> StopEvent {
    StopEvent::default()
}

#[step]
fn boxed_without_list(ev: Box<dyn Event>) -> StopEvent {
    let _ = ev;
    StopEvent::default()
}

fn main() {}
