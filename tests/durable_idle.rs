//! Idle release: runs that only wait for a person leave the worker's memory (no run task,
//! no step task) after the idle limit, and the one that gets an answer resumes, wherever
//! it arrives. On an `EmbeddedStore`, and on PostgreSQL when `BLAZEN_TEST_POSTGRES` is set.

use std::time::{Duration, Instant};

use blazen::persist::SnapshotStatus;
use blazen::prelude::*;
use blazen::{RunClient, RunStore, Worker};

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;
use rt::{ev, step};

const RUNS: usize = 1_000;

fn asking() -> Workflow {
    Workflow::builder("idle-ask")
        .step(
            step("ask", |ctx: Context, s: StartEvent| async move {
                ctx.set("n", &s.get("n"))?;
                Ok::<_, WorkflowError>(InputRequiredEvent::new("Approve?", json!({})))
            })
            .emits(ev::<InputRequiredEvent>()),
        )
        .step(
            step("decide", |ctx: Context, r: InputResponseEvent| async move {
                Ok::<_, WorkflowError>(StopEvent::new(json!({
                    "n": ctx.get::<serde_json::Value>("n")?,
                    "answer": r.response,
                })))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

/// The resident set of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn releases_then_resumes<S: RunStore + Clone + 'static>(store: S, label: &str) {
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let worker = Worker::builder(store.clone())
        .workflow(asking())
        .lease(Duration::from_secs(5))
        .idle_release(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (idle_tasks, idle_rss) = (tasks(), rss_kib());

    let mut ids = Vec::with_capacity(RUNS);
    for n in 0..RUNS {
        let handler = worker.run("idle-ask", json!({ "n": n })).await.unwrap();
        ids.push(handler.run_id());
    }
    let (busy_tasks, busy_rss) = (tasks(), rss_kib());
    let deadline = Instant::now() + Duration::from_secs(60);
    while worker.runs() > 0 {
        assert!(
            Instant::now() < deadline,
            "{label}: {} runs still held after 60 s",
            worker.runs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The routers end right after their release.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (released_tasks, released_rss) = (tasks(), rss_kib());
    eprintln!(
        "{label}: tasks idle {idle_tasks}, {RUNS} waiting {busy_tasks}, released {released_tasks}; \
         RSS KiB idle {idle_rss}, waiting {busy_rss}, released {released_rss}"
    );
    // Nothing per run is left: at most the store's pooled connections (PostgreSQL: up to
    // 16, each driven by a task) opened while the runs were busy.
    assert!(
        released_tasks <= idle_tasks + 16,
        "{label}: {released_tasks} tasks left (idle: {idle_tasks})"
    );

    // An answer through the store resumes one of them.
    let client = RunClient::new(store);
    let run_id = ids[RUNS / 2];
    let status = client.status(run_id).await.unwrap();
    assert_eq!(status.owner, None, "{label}: released");
    let request = client.input_requests(run_id).await.unwrap().remove(0);
    client
        .respond(run_id, request.request_id, json!("yes"))
        .await
        .unwrap();
    let stop = tokio::time::timeout(Duration::from_secs(20), client.result(run_id))
        .await
        .expect("resumed and answered in time")
        .unwrap();
    assert_eq!(stop.result, json!({"n": RUNS / 2, "answer": "yes"}));
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_waiting_runs_are_released_and_an_answer_resumes_one() {
    let dir = std::env::temp_dir().join(format!("blazen-idle-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = EmbeddedStore::open(dir.join("runs.db")).unwrap();
    releases_then_resumes(store, "embedded").await;
    let _ = std::fs::remove_dir_all(&dir);

    match std::env::var("BLAZEN_TEST_POSTGRES") {
        Ok(url) => {
            let schema = format!("idle_{}", uuid::Uuid::new_v4().simple());
            let store = blazen::PostgresStore::connect_with_schema(&url, &schema)
                .await
                .expect("BLAZEN_TEST_POSTGRES is set but PostgreSQL is unreachable");
            releases_then_resumes(store.clone(), "postgres").await;
            let client = store.client().await.unwrap();
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
        Err(_) => eprintln!("postgres part skipped: BLAZEN_TEST_POSTGRES not set"),
    }
}

/// Cancellation and status from a client: an owned run is cancelled by its owner, a
/// released one by the worker that claims it; both end `Cancelled`, stored as such.
async fn cancels_from_anywhere<S: RunStore + Clone + 'static>(store: S, label: &str) {
    let worker = Worker::builder(store.clone())
        .workflow(asking())
        .lease(Duration::from_secs(5))
        .idle_release(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let client = RunClient::new(store);
    let owned = worker.run("idle-ask", json!({"n": 1})).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    // The run asks, then (nothing else to do) checkpoints as waiting for input.
    while client.status(owned.run_id()).await.unwrap().status != SnapshotStatus::WaitingForInput {
        assert!(
            Instant::now() < deadline,
            "{label}: the run waits for input"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = client.status(owned.run_id()).await.unwrap();
    assert_eq!(status.owner.as_deref(), Some(worker.id()), "{label}");
    assert_eq!(status.status, SnapshotStatus::WaitingForInput, "{label}");
    assert!(status.epoch >= 1 && status.updated_at_ms > 0, "{label}");
    client.cancel(owned.run_id()).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), client.result(owned.run_id()))
        .await
        .expect("cancelled in time");
    assert!(ended.is_err(), "{label}: {ended:?}");
    assert_eq!(
        client.status(owned.run_id()).await.unwrap().status,
        SnapshotStatus::Cancelled,
        "{label}"
    );
    assert!(matches!(
        owned.result().await,
        Err(WorkflowError::Cancelled { .. })
    ));

    // Released while it waits: the cancel makes it claimable, and the claimer cancels it.
    let released = worker
        .run("idle-ask", json!({"n": 2}))
        .await
        .unwrap()
        .run_id();
    while client.status(released).await.unwrap().owner.is_some() {
        assert!(Instant::now() < deadline, "{label}: released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.cancel(released).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), client.result(released))
        .await
        .expect("cancelled in time");
    assert!(ended.is_err(), "{label}: {ended:?}");
    assert_eq!(
        client.status(released).await.unwrap().status,
        SnapshotStatus::Cancelled,
        "{label}"
    );
    // A finished run takes no more messages.
    assert!(client
        .send_event(released, StopEvent::default())
        .await
        .is_err());
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cancels_owned_and_released_runs_and_reads_their_status() {
    let dir = std::env::temp_dir().join(format!("blazen-cancel-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    cancels_from_anywhere(
        EmbeddedStore::open(dir.join("runs.db")).unwrap(),
        "embedded",
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    match std::env::var("BLAZEN_TEST_POSTGRES") {
        Ok(url) => {
            let schema = format!("cancel_{}", uuid::Uuid::new_v4().simple());
            let store = blazen::PostgresStore::connect_with_schema(&url, &schema)
                .await
                .expect("BLAZEN_TEST_POSTGRES is set but PostgreSQL is unreachable");
            cancels_from_anywhere(store.clone(), "postgres").await;
            let client = store.client().await.unwrap();
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
        Err(_) => eprintln!("postgres part skipped: BLAZEN_TEST_POSTGRES not set"),
    }
}
