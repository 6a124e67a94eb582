//! A cycle with an exit is legal: `tick` feeds itself until it emits StopEvent.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Count {
    n: u64,
}

#[derive(Debug, Event)]
#[event(one_of)]
enum Next {
    Again(Count),
    Done(StopEvent),
}

#[step]
fn start(ev: StartEvent) -> Count {
    Count {
        n: ev.get("n").and_then(|v| v.as_u64()).unwrap_or(0),
    }
}

#[step]
async fn tick(_ctx: &Context, c: Count) -> Next {
    if c.n >= 3 {
        Next::Done(StopEvent::new(json!(c.n)))
    } else {
        Next::Again(Count { n: c.n + 1 })
    }
}

#[tokio::main]
async fn main() {
    let wf = workflow!("loop", [start, tick]);
    let handler = wf.run(json!({"n": 0})).await.unwrap();
    assert_eq!(handler.result().await.unwrap().result, json!(3));
    let chart = wf.to_mermaid();
    assert!(chart.contains("s1 -->|\"Count\"| s1"), "{chart}");
    assert!(chart.contains("s1 -->|\"StopEvent\"| stop"), "{chart}");
}
