use blazen::prelude::*;

struct Thing;

impl Thing {
    #[step]
    fn method(&self) -> StopEvent {
        StopEvent::default()
    }
}

#[step]
fn generic<E: TypedEvent>(ev: E) -> StopEvent {
    let _ = ev;
    StopEvent::default()
}

#[step]
fn opaque(ev: impl Event) -> StopEvent {
    let _ = ev;
    StopEvent::default()
}

#[step]
const fn constant() -> StopEvent {
    StopEvent {
        result: serde_json::Value::Null,
    }
}

#[step]
struct NotAFunction;

fn main() {}
