use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct A;

#[step(name = "a", name = "b", colour = "red", max_concurrency = "four")]
fn options(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(accepts = A, emits = [], name = 3, max_concurrency)]
fn values(_ev: A) -> StopEvent {
    StopEvent::default()
}

fn main() {
    // The steps still expand.
    let _ = options::step();
    let _ = values::step();
}
