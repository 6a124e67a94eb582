//! `allow = [..]` opts out of checks for a deliberate design: `manual` is fed from outside
//! (its event is never emitted, so it is unreachable), and `side` is a dead end on purpose.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Manual;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Log;

#[step(emits = [Log])]
fn start(ctx: &Context, _ev: StartEvent) -> StopEvent {
    ctx.send_event(Log);
    StopEvent::default()
}

#[step]
fn side(_ev: Log) {}

#[step]
fn manual(_ev: Manual) -> StopEvent {
    StopEvent::default()
}

#[tokio::main]
async fn main() {
    let wf = workflow!(
        "allowed",
        [start, side, manual],
        allow = [unemitted, unreachable, dead_end]
    );
    let r = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(r.result, json!(null));
}
