//! `lookup` returns `Either<Found, Missing>` inside a `Result`; no step accepts `Missing`:
//! each arm is an edge, so the unaccepted one is a compile error.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Found;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Missing;

#[step]
fn lookup(_ev: StartEvent) -> Result<Either<Found, Missing>, WorkflowError> {
    Ok(Either::Left(Found))
}

#[step]
fn found(_ev: Found) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _wf = workflow!("either_unaccepted", [lookup, found]);
}
