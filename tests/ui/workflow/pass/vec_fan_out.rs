//! Fan-out: one step returns `Vec<Item>`; another collects them (through the context) and
//! emits StopEvent once all are in; `emits = [..]` declares an event sent with
//! `ctx.send_event`.
use blazen::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Item {
    n: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Total {
    sum: u64,
}

#[step]
fn split(_ev: StartEvent) -> Vec<Item> {
    (1..=4).map(|n| Item { n }).collect()
}

// One instance at a time: the get-then-set below is not atomic across concurrent instances
// (`ctx.update` is).
#[step(emits = [Total], max_concurrency = 1)]
fn gather(ctx: &Context, item: Item) -> Result<(), WorkflowError> {
    let sum: u64 = ctx.get("sum")?.unwrap_or(0) + item.n;
    let seen: u64 = ctx.get("seen")?.unwrap_or(0) + 1;
    ctx.set("sum", &sum)?;
    ctx.set("seen", &seen)?;
    if seen == 4 {
        ctx.send_event(Total { sum });
    }
    Ok(())
}

#[step]
fn finish(total: Total) -> StopEvent {
    StopEvent::new(json!(total.sum))
}

#[tokio::main]
async fn main() {
    let wf = workflow!(
        "fan_out",
        [split, gather, finish],
        timeout = std::time::Duration::from_secs(5)
    );
    let r = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(r.result, json!(10));
}
