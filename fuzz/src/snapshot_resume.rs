//! Snapshot decoding and resume: any bytes given to `WorkflowSnapshot::from_slice`, and any
//! snapshot it accepts resumed on a small fixed workflow (fan-out, shared state, fan-in), end
//! in a typed error or a run that finishes or fails — never a panic, and never a run that
//! hangs (5 s) unless the snapshot says it waits for input.

use std::time::Duration;

use blazen::prelude::*;

/// A sentence of the text.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct Sentence {
    /// Its text.
    pub text: String,
}

/// A sentence's word count.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct Scored {
    /// The number of words.
    pub words: usize,
}

/// `StartEvent {text}` in, one `Sentence` per sentence out; the count in the state.
#[step]
fn split(ctx: &Context, start: StartEvent) -> Result<Vec<Sentence>, WorkflowError> {
    let text = start.get("text").and_then(|t| t.as_str()).unwrap_or("");
    let out: Vec<Sentence> = text
        .split('.')
        .filter(|s| !s.trim().is_empty())
        .map(|s| Sentence { text: s.into() })
        .collect();
    ctx.set("total", &out.len())?;
    Ok(out)
}

/// Counts a sentence's words.
#[step(max_concurrency = 2)]
async fn score(_ctx: &Context, s: Sentence) -> Scored {
    Scored {
        words: s.text.split_whitespace().count(),
    }
}

/// Fan-in: the sum once every sentence is scored.
#[step]
fn total(ctx: &Context, s: Scored) -> Result<Option<StopEvent>, WorkflowError> {
    let n: usize = ctx.get("total")?.unwrap_or(0);
    Ok(ctx
        .collect_events(s, n)
        .map(|all| StopEvent::new(json!(all.iter().map(|s| s.words).sum::<usize>()))))
}

/// The fixed workflow the snapshots are resumed on.
pub fn workflow() -> Workflow {
    workflow!("fuzz-words", [split, score, total])
}

/// How long a resumed run may take.
const HANG: Duration = Duration::from_secs(5);

/// One fuzz input: see the module docs.
pub fn run(data: &[u8]) {
    let Ok(snapshot) = WorkflowSnapshot::from_slice(data) else {
        return; // a typed error
    };
    let waits_for_input = !snapshot.input_requests.is_empty();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let wf = workflow();
        let Ok(handler) = wf.resume(snapshot).await else {
            return; // a typed error
        };
        match tokio::time::timeout(HANG, handler.result()).await {
            Ok(outcome) => {
                let _ = outcome.map_err(|e| e.to_string());
            }
            Err(_) if waits_for_input => {
                let _ = handler.cancel().await;
            }
            Err(_) => panic!("the resumed run neither ended nor failed in {HANG:?}"),
        }
    });
}

/// The same workflow saving its snapshots to `store` (the seed snapshots of the corpus come
/// from it: `cargo test --test fuzz_corpus -- --ignored write_snapshot_seeds`).
pub fn checkpointed(store: impl CheckpointStore + 'static) -> Workflow {
    workflow!("fuzz-words", [split, score, total], checkpoint = store)
}
