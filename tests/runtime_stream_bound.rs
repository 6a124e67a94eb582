//! A bounded event stream (`stream_capacity`): a reader that falls behind loses events only
//! with an explicit `StreamLagged` marker carrying their count; nothing is lost silently, and
//! input requests are never dropped.

use blazen::prelude::*;
use blazen::StreamLagged;
use futures::StreamExt;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Tick {
    n: u32,
}

#[step]
fn burst(ctx: &Context, ev: StartEvent) -> StopEvent {
    let n = ev.get("n").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    for i in 0..n {
        ctx.write_event_to_stream(Tick { n: i });
    }
    StopEvent::new(json!(n))
}

/// Reads the whole stream: the ticks seen, and the markers' counts in order.
async fn read_all(handler: &WorkflowHandler) -> (Vec<u32>, Vec<u64>) {
    let mut stream = handler.stream_events();
    let (mut ticks, mut lags) = (Vec::new(), Vec::new());
    while let Some(ev) = stream.next().await {
        if let Some(t) = ev.downcast_ref::<Tick>() {
            ticks.push(t.n);
        } else if let Some(l) = ev.downcast_ref::<StreamLagged>() {
            lags.push(l.missed);
        }
    }
    (ticks, lags)
}

#[tokio::test]
async fn a_reader_that_never_kept_up_gets_the_first_events_and_one_marker_with_the_count() {
    let wf = Workflow::builder("burst")
        .step(burst::step())
        .stream_capacity(10)
        .build()
        .unwrap();
    let handler = wf.run(json!({"n": 1000})).await.unwrap();
    // The run finishes before anyone reads.
    let stop = wf_result(&handler).await;
    assert_eq!(stop, json!(1000));
    let (ticks, lags) = read_all(&handler).await;
    assert_eq!(ticks, (0..10).collect::<Vec<_>>());
    assert_eq!(lags, vec![990]);
}

async fn wf_result(handler: &WorkflowHandler) -> serde_json::Value {
    handler.result().await.unwrap().result
}

/// Writes `n` ticks, letting other tasks (the reader) run every 50.
#[step]
async fn drip(ctx: &Context, ev: StartEvent) -> StopEvent {
    let n = ev.get("n").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    for i in 0..n {
        ctx.write_event_to_stream(Tick { n: i });
        if i % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    StopEvent::new(json!(n))
}

#[tokio::test]
async fn read_and_missed_events_add_up_to_all_written_in_order() {
    // A reader that keeps up now and then: several overflows, each with its own marker, and
    // every written event is either read (in order) or counted by the marker standing where
    // it would have been.
    let wf = workflow!("drip", [drip]).with_stream_capacity(16);
    let handler = wf.run(json!({"n": 20_000})).await.unwrap();
    let mut stream = handler.stream_events();
    let (mut read, mut missed, mut last, mut markers) = (0u64, 0u64, None::<u32>, 0);
    while let Some(ev) = stream.next().await {
        if let Some(t) = ev.downcast_ref::<Tick>() {
            if let Some(prev) = last {
                assert!(t.n > prev, "order kept");
            }
            last = Some(t.n);
            read += 1;
        } else if let Some(l) = ev.downcast_ref::<StreamLagged>() {
            assert!(l.missed > 0);
            missed += l.missed;
            markers += 1;
        }
        if read % 7 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(
        read + missed,
        20_000,
        "{read} read, {missed} missed in {markers} markers"
    );
    assert!(markers >= 2 && read > 16, "{read} read, {markers} markers");
    assert_eq!(wf_result(&handler).await, json!(20_000));
}

#[tokio::test]
async fn without_a_bound_nothing_is_dropped() {
    let wf = workflow!("burst", [burst]);
    let handler = wf.run(json!({"n": 5000})).await.unwrap();
    wf_result(&handler).await;
    let (ticks, lags) = read_all(&handler).await;
    assert_eq!(ticks.len(), 5000);
    assert!(lags.is_empty());
}

#[step]
fn ask(_ev: StartEvent, ctx: &Context) -> InputRequiredEvent {
    for i in 0..100 {
        ctx.write_event_to_stream(Tick { n: i });
    }
    InputRequiredEvent::new("ok?", json!({}))
}

#[step]
fn answer(ev: InputResponseEvent) -> StopEvent {
    StopEvent::new(ev.response)
}

#[tokio::test]
async fn input_requests_are_never_dropped_from_a_full_stream() {
    let wf = workflow!("ask", [ask, answer]).with_stream_capacity(5);
    let handler = wf.run(json!({})).await.unwrap();
    let mut stream = handler.stream_events();
    let mut saw_request = None;
    let mut lags = 0;
    while saw_request.is_none() {
        let ev = stream.next().await.expect("stream open while waiting");
        if let Some(r) = ev.downcast_ref::<InputRequiredEvent>() {
            saw_request = Some(r.request_id);
        } else if ev.is::<StreamLagged>() {
            lags += 1;
        }
    }
    assert_eq!(lags, 1);
    handler
        .respond(saw_request.unwrap(), json!("yes"))
        .await
        .unwrap();
    assert_eq!(wf_result(&handler).await, json!("yes"));
}
