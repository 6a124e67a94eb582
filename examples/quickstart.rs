//! Quickstart: a typed workflow that runs with no API key and no network.
//!
//! `split` fans a text out into one `Sentence` event per sentence; `score` (at most four at
//! once) scores each one and reports progress on the event stream; `summarize` fans the
//! scores back in with `ctx.collect_events` and ends the run with a `StopEvent`.
//!
//! Run it with `cargo run --example quickstart`.

use std::time::Duration;

use blazen::prelude::*;
use futures::StreamExt;

/// One sentence of the input.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Sentence {
    index: usize,
    text: String,
}

/// A scored sentence.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Scored {
    index: usize,
    words: usize,
    score: i32,
}

/// Progress, written to the event stream (not routed to any step).
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Progress {
    index: usize,
    words: usize,
}

/// Splits the input text into sentences: one event each (fan-out).
#[step]
fn split(ctx: &Context, start: StartEvent) -> Result<Vec<Sentence>, WorkflowError> {
    let text = start.get("text").and_then(|t| t.as_str()).unwrap_or("");
    let sentences: Vec<Sentence> = text
        .split(['.', '!', '?'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(index, s)| Sentence {
            index,
            text: s.to_owned(),
        })
        .collect();
    ctx.set("total", &sentences.len())?;
    Ok(sentences)
}

/// Scores one sentence: a stand-in for a model call (at most four run at once).
#[step(max_concurrency = 4)]
async fn score(ctx: &Context, sentence: Sentence) -> Scored {
    const GOOD: [&str; 4] = ["fast", "typed", "safe", "simple"];
    const BAD: [&str; 3] = ["slow", "fragile", "hangs"];
    tokio::time::sleep(Duration::from_millis(5)).await; // pretend to think
    let words: Vec<String> = sentence
        .text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let score = words
        .iter()
        .map(|w| i32::from(GOOD.contains(&w.as_str())) - i32::from(BAD.contains(&w.as_str())))
        .sum();
    ctx.write_event_to_stream(Progress {
        index: sentence.index,
        words: words.len(),
    });
    Scored {
        index: sentence.index,
        words: words.len(),
        score,
    }
}

/// Gathers every score (fan-in) and ends the run.
#[step]
fn summarize(ctx: &Context, scored: Scored) -> Result<Option<StopEvent>, WorkflowError> {
    let total: usize = ctx.get("total")?.unwrap_or(0);
    let Some(mut all) = ctx.collect_events(scored, total) else {
        return Ok(None); // not all sentences are scored yet
    };
    all.sort_by_key(|s| s.index);
    Ok(Some(StopEvent::new(json!({
        "sentences": all.len(),
        "words": all.iter().map(|s| s.words).sum::<usize>(),
        "score": all.iter().map(|s| s.score).sum::<i32>(),
        "per_sentence": all.iter().map(|s| s.score).collect::<Vec<_>>(),
    }))))
}

#[tokio::main]
async fn main() -> Result<(), WorkflowError> {
    // The graph (every event emitted is accepted, StopEvent is reachable, …) is checked at
    // compile time.
    let wf = workflow!(
        "quickstart",
        [split, score, summarize],
        timeout = Duration::from_secs(10)
    );

    let text = "Blazen is fast. Its workflows are typed and safe. \
                Nothing hangs: a stalled run fails at once. Simple, isn't it?";
    let handler = wf.run(json!({ "text": text })).await?;

    let mut events = handler.stream_events();
    while let Some(event) = events.next().await {
        if let Some(p) = event.downcast_ref::<Progress>() {
            println!("scored sentence {} ({} words)", p.index, p.words);
        }
    }

    let stop = handler.result().await?;
    println!("result: {}", stop.result);
    println!("\nthe workflow's graph:\n{}", wf.to_mermaid());
    Ok(())
}
