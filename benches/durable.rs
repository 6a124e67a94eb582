//! Durable-run benchmarks (issue 8): what a checkpoint costs.
//!
//! - `store_save`: one save of a ~2 KB snapshot (the embedded store commits durably: WAL
//!   synced at every commit, so this is mostly the disk's fsync latency).
//! - `snapshot_json`: encoding and decoding a snapshot holding 10,000 queued events.
//! - `chain`: one run of a 10-step chain without checkpoints, and checkpointed after every
//!   step to the in-memory and to the embedded store.
//!
//! Run: `cargo bench --bench durable`. The embedded store writes to the system temp dir.

use std::path::PathBuf;
use std::sync::OnceLock;

use blazen::persist::SerializedEvent;
use blazen::prelude::*;
use blazen::{EventInfo, WorkflowBuilder};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

/// One multi-threaded runtime (2 workers, like the machine) for every benchmark.
fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// A fresh database file in the temp dir (left there: benchmarks run once).
fn db_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blazen-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn snapshot_2k() -> WorkflowSnapshot {
    let mut snap = WorkflowSnapshot::new("bench", "v1:0", uuid::Uuid::new_v4());
    snap.state.insert("text".into(), json!("x".repeat(1_900)));
    snap.queued
        .push(SerializedEvent::new("Stage", json!({"i": 1})).for_step("advance"));
    snap
}

#[divan::bench(args = ["memory", "embedded"])]
fn store_save(bencher: divan::Bencher, store: &str) {
    let store: Box<dyn CheckpointStore> = match store {
        "memory" => Box::new(InMemoryStore::new()),
        _ => Box::new(EmbeddedStore::open(db_path("save.db")).expect("open")),
    };
    let snap = snapshot_2k();
    bencher.bench_local(|| {
        runtime().block_on(store.save(&snap)).expect("save");
    });
}

#[divan::bench]
fn snapshot_json(bencher: divan::Bencher) {
    let mut snap = WorkflowSnapshot::new("bench", "v1:0", uuid::Uuid::new_v4());
    for n in 0..10_000u64 {
        snap.queued
            .push(SerializedEvent::new("Work", json!({"n": n})).for_step("work"));
    }
    bencher.bench_local(|| {
        let text = snap.to_json().expect("encode");
        WorkflowSnapshot::from_json(&text).expect("decode")
    });
}

/// start → Stage(1) → advance (×9, one step looping on `Stage`) → Stop: 10 step executions.
fn chain() -> WorkflowBuilder {
    let start = Step::new("start", |_ctx, _ev| async move {
        Ok(StepOutput::Single(Box::new(DynamicEvent::new(
            "Stage",
            json!({"i": 1}),
        ))))
    })
    .accepts(EventInfo::of::<StartEvent>())
    .emits(EventInfo::named("Stage"));
    let advance = Step::new("advance", |ctx, ev| async move {
        let i = ev.to_json().get("i").and_then(|v| v.as_u64()).unwrap_or(0);
        ctx.set("i", &i)?;
        Ok(if i < 9 {
            StepOutput::Single(Box::new(DynamicEvent::new("Stage", json!({"i": i + 1}))))
        } else {
            StepOutput::Single(Box::new(StopEvent::new(json!(i))))
        })
    })
    .accepts(EventInfo::named("Stage"))
    .emits(EventInfo::named("Stage"))
    .emits(EventInfo::of::<StopEvent>());
    Workflow::builder("chain").step(start).step(advance)
}

#[divan::bench(args = ["none", "memory", "embedded"])]
fn chain_10_steps(bencher: divan::Bencher, checkpoint: &str) {
    let wf = match checkpoint {
        "none" => chain().build(),
        "memory" => chain().checkpoint(InMemoryStore::new()).build(),
        _ => chain()
            .checkpoint(EmbeddedStore::open(db_path("chain.db")).expect("open"))
            .build(),
    }
    .expect("valid graph");
    bencher.bench_local(|| {
        runtime().block_on(async {
            let h = wf.run(json!({})).await.expect("run");
            h.result().await.expect("result")
        })
    });
}
