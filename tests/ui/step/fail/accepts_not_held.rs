use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct B;

// The parameter is an `A`, but the step says it also accepts `B`.
#[step(accepts = [A, B])]
fn narrow(ev: A) -> StopEvent {
    let _ = ev;
    StopEvent::default()
}

fn main() {}
