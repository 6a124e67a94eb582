//! `ping` and `pong` feed each other and can stop, but nothing leads to them from StartEvent.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ping;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Pong;

#[derive(Debug, Event)]
#[event(one_of)]
enum PongOrStop {
    Pong(Pong),
    Stop(StopEvent),
}

#[step]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step]
fn ping(_ev: Ping) -> PongOrStop {
    PongOrStop::Pong(Pong)
}

#[step]
fn pong(_ev: Pong) -> Ping {
    Ping
}

fn main() {
    let _wf = workflow!("unreachable", [start, ping, pong]);
}
