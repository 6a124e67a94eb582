use blazen::prelude::*;

#[step]
fn start(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _a = workflow!(
        "a",
        [start],
        colour = "red",
        allow = [unreachable, everything]
    );
    let _b = workflow!(
        "b",
        [start],
        timeout = std::time::Duration::from_secs(1),
        timeout = std::time::Duration::from_secs(2)
    );
    let _c = workflow!("c", [start], allow = unreachable);
    let _d = workflow!(name, [start]);
}
