//! Concurrency: max_concurrency bounds live step instances, many runs at once, the stream
//! delivers every event in order per producer.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use blazen::prelude::*;
use futures::StreamExt;
use rt::{ev, step, Done, Num, Word};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_bounds_live_instances_with_10_000_queued() {
    const N: usize = 4;
    const EVENTS: u64 = 10_000;
    let alive = Arc::new(AtomicUsize::new(0));
    let peak_alive = Arc::new(AtomicUsize::new(0));
    let peak_tasks = Arc::new(AtomicUsize::new(0));
    let (a, pa, pt) = (
        Arc::clone(&alive),
        Arc::clone(&peak_alive),
        Arc::clone(&peak_tasks),
    );
    let wf = Workflow::builder("bounded")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                (0..EVENTS).map(|n| Num { n }).collect::<Vec<_>>()
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("work", move |_ctx, x: Num| {
                let (alive, peak_alive, peak_tasks) =
                    (Arc::clone(&a), Arc::clone(&pa), Arc::clone(&pt));
                async move {
                    let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
                    peak_alive.fetch_max(now, Ordering::SeqCst);
                    // Queued events are not tasks: the runtime holds the router, the live
                    // workers and the collector's instances only.
                    let tasks = tokio::runtime::Handle::current()
                        .metrics()
                        .num_alive_tasks();
                    peak_tasks.fetch_max(tasks, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    alive.fetch_sub(1, Ordering::SeqCst);
                    Done { n: x.n }
                }
            })
            .max_concurrency(N)
            .emits(ev::<Done>()),
        )
        .step(
            step("collect", |ctx: Context, d: Done| async move {
                ctx.collect_events(d, EVENTS as usize).map(|all| {
                    let sum: u64 = all.iter().map(|d| d.n).sum();
                    StopEvent::new(json!({"count": all.len(), "sum": sum}))
                })
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"count": EVENTS, "sum": EVENTS * (EVENTS - 1) / 2})
    );
    let peak = peak_alive.load(Ordering::SeqCst);
    assert!(peak <= N, "{peak} instances alive at once, limit {N}");
    assert!(
        peak >= 2,
        "the workers never overlapped (peak {peak}); the test proves nothing"
    );
    let tasks = peak_tasks.load(Ordering::SeqCst);
    // router + N workers + collector instances in flight (unbounded, but short) + slack.
    assert!(
        tasks < 200,
        "{tasks} tasks alive: queued events were spawned"
    );
}

fn chain() -> Workflow {
    Workflow::builder("chain")
        .step(
            step("start", |_ctx, s: StartEvent| async move {
                Num {
                    n: s.get("n").and_then(|v| v.as_u64()).unwrap_or(0),
                }
            })
            .emits(ev::<Num>()),
        )
        .step(step("inc", |_ctx, x: Num| async move { Done { n: x.n + 1 } }).emits(ev::<Done>()))
        .step(
            step("stop", |ctx: Context, d: Done| async move {
                ctx.set("last", &d.n).unwrap();
                StopEvent::new(json!(d.n))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_runs_of_one_workflow() {
    let wf = chain();
    let mut joins = Vec::new();
    for n in 0..1_000u64 {
        let wf = wf.clone();
        joins.push(tokio::spawn(async move {
            let h = wf.run(json!({"n": n})).await?;
            h.result().await.map(|s| (n, s.result))
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for j in joins {
        let (n, result) = j.await.unwrap().unwrap();
        assert_eq!(result, json!(n + 1));
        ids.insert(n);
    }
    assert_eq!(ids.len(), 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_delivers_all_10_000_events_in_order_per_producer() {
    const PRODUCERS: u64 = 4;
    const PER: u64 = 2_500;
    let wf = Workflow::builder("streaming")
        .step(
            step("start", |_ctx, _s: StartEvent| async {
                (0..PRODUCERS).map(|n| Num { n }).collect::<Vec<_>>()
            })
            .emits(ev::<Num>()),
        )
        .step(
            step("produce", |ctx: Context, x: Num| async move {
                for i in 0..PER {
                    ctx.write_event_to_stream(Word {
                        text: format!("p{}", x.n),
                        score: i as f64,
                    });
                    if i % 500 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                Done { n: x.n }
            })
            .emits(ev::<Done>()),
        )
        .step(
            step("finish", |ctx: Context, d: Done| async move {
                ctx.collect_events(d, PRODUCERS as usize)
                    .map(|_| StopEvent::new(json!("ok")))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    let mut stream = handler.stream_events();
    let mut next: HashMap<String, f64> = HashMap::new();
    let mut total = 0u64;
    let mut last = None;
    while let Some(event) = stream.next().await {
        if let Some(stop) = event.downcast_ref::<StopEvent>() {
            // The stream's last item: the StopEvent.
            last = Some(stop.clone());
            continue;
        }
        assert!(last.is_none(), "nothing after the StopEvent");
        let word = event
            .downcast_ref::<Word>()
            .expect("only Words and the StopEvent are streamed");
        let expected = next.entry(word.text.clone()).or_insert(0.0);
        assert_eq!(word.score, *expected, "out of order for {}", word.text);
        *expected += 1.0;
        total += 1;
    }
    assert_eq!(total, PRODUCERS * PER);
    assert_eq!(next.len(), PRODUCERS as usize);
    assert_eq!(last, Some(StopEvent::new(json!("ok"))));
    assert_eq!(handler.result().await.unwrap().result, json!("ok"));
    // A second stream ends at once.
    assert!(handler.stream_events().next().await.is_none());
}

#[tokio::test]
async fn a_stream_read_after_the_run_ended_still_has_every_event() {
    let wf = Workflow::builder("late-reader")
        .step(
            step("start", |ctx: Context, _s: StartEvent| async move {
                for n in 0..100 {
                    ctx.write_event_to_stream(Num { n });
                }
                StopEvent::default()
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    handler.result().await.unwrap();
    let mut got: Vec<Box<dyn Event>> = handler.stream_events().collect().await;
    // The last item is the StopEvent, after every written event.
    let last = got.pop().unwrap();
    assert_eq!(
        last.downcast_ref::<StopEvent>(),
        Some(&StopEvent::default())
    );
    let got: Vec<u64> = got
        .iter()
        .map(|e| e.downcast_ref::<Num>().map_or(u64::MAX, |x| x.n))
        .collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}
