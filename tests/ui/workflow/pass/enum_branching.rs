//! A step branches through an `#[event(one_of)]` enum; each branch reaches StopEvent.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Small {
    n: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Large {
    n: i64,
}

#[derive(Debug, Event)]
#[event(one_of)]
enum Size {
    Small(Small),
    Large(Large),
}

#[step]
fn classify(ev: StartEvent) -> Result<Size, WorkflowError> {
    let n = ev
        .get("n")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| WorkflowError::msg("no n"))?;
    Ok(if n < 10 {
        Size::Small(Small { n })
    } else {
        Size::Large(Large { n })
    })
}

#[step]
fn small(_ctx: &Context, ev: Small) -> StopEvent {
    StopEvent::new(json!(format!("small {}", ev.n)))
}

#[step]
fn large(ev: Large, _ctx: &Context) -> StopEvent {
    StopEvent::new(json!(format!("large {}", ev.n)))
}

#[tokio::main]
async fn main() {
    let wf = workflow!("branch", [classify, small, large]);
    let r = wf
        .run(json!({"n": 3}))
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(r.result, json!("small 3"));
    let r = wf
        .run(json!({"n": 30}))
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(r.result, json!("large 30"));
}
