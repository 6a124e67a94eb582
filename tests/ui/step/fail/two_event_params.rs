use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

#[step]
fn both(a: A, b: B) -> StopEvent {
    let _ = (a, b);
    StopEvent::default()
}

#[step]
fn two_contexts(c1: &Context, c2: Context, a: A) -> StopEvent {
    let _ = (c1, c2, a);
    StopEvent::default()
}

fn main() {
    // The modules still exist: no cascade below.
    let _ = both::step();
    let _ = two_contexts::step();
}
