//! Two different types share the routing name `Item`.
use blazen::prelude::*;

mod one {
    use blazen::prelude::*;
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub struct Item;
}

mod two {
    use blazen::prelude::*;
    #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    pub struct Item;
}

#[step]
fn start(_ev: StartEvent) -> one::Item {
    one::Item
}

#[step]
fn finish(_ev: two::Item) -> StopEvent {
    StopEvent::default()
}

fn main() {
    let _wf = workflow!("clash", [start, finish]);
}
