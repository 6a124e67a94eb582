//! Runs shared by replicas, across real processes: worker processes (this test binary
//! started again with `BLAZEN_REPLICA_WORKER` set) share one store; this process starts runs,
//! kills a worker with SIGKILL or SIGSTOP, answers a person through a `RunClient`, reads a
//! stream from outside, and checks that every run ends with the result of an uninterrupted
//! run.
//!
//! Each test runs on an `EmbeddedStore` file (processes on one machine) and, when
//! `BLAZEN_TEST_POSTGRES` is set, on PostgreSQL too (in its own schema).

#![cfg(unix)]

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blazen::persist::{RunStore, SnapshotStatus};
use blazen::prelude::*;
use blazen::{RunClient, Worker};
use futures::StreamExt;
use rt::{ev, step};

/// Set in a worker process: the store to use (`sqlite:<path>` or a postgres URL).
const WORKER_ENV: &str = "BLAZEN_REPLICA_WORKER";
/// Set in a worker process: the PostgreSQL schema.
const SCHEMA_ENV: &str = "BLAZEN_REPLICA_SCHEMA";

const HOPS: u64 = 10;
const LEASE: Duration = Duration::from_millis(1500);

/// One hop of a ten-hop chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Hop {
    n: u64,
    x: u64,
}
crate::test_event!(Hop);

/// Start → Hop 1..=10 (each 20 ms, or `delay_ms`; each writes `hop{n}` = x·n, harmless to repeat) → Stop
/// with the sum of the hops' values: 55·x for an uninterrupted run.
fn chain() -> Workflow {
    Workflow::builder("replica-chain")
        .step(
            step("begin", |ctx: Context, s: StartEvent| async move {
                let x = s.get("x").and_then(serde_json::Value::as_u64).unwrap_or(0);
                let delay = s.get("delay_ms").and_then(serde_json::Value::as_u64);
                ctx.set("delay_ms", &delay.unwrap_or(20))?;
                Ok::<_, WorkflowError>(Hop { n: 1, x })
            })
            .emits(ev::<Hop>()),
        )
        .step(
            step("hop", |ctx: Context, h: Hop| async move {
                let delay = ctx.get::<u64>("delay_ms")?.unwrap_or(20);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                ctx.set(&format!("hop{}", h.n), &(h.x * h.n))?;
                let out: Box<dyn Event> = if h.n < HOPS {
                    Box::new(Hop { n: h.n + 1, x: h.x })
                } else {
                    let mut sum = 0u64;
                    for n in 1..=HOPS {
                        sum += ctx.get::<u64>(&format!("hop{n}"))?.unwrap_or(0);
                    }
                    Box::new(StopEvent::new(json!(sum)))
                };
                Ok::<_, WorkflowError>(out)
            })
            .emits(ev::<Hop>())
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

/// Asks a person, then answers with what they said.
fn asking() -> Workflow {
    Workflow::builder("replica-ask")
        .step(
            step("ask", |ctx: Context, s: StartEvent| async move {
                ctx.set("order", &s.get("order"))?;
                ctx.write_event_to_stream(Hop { n: 0, x: 7 });
                Ok::<_, WorkflowError>(InputRequiredEvent::new("Ship it?", json!({})))
            })
            .emits(ev::<InputRequiredEvent>()),
        )
        .step(
            step("decide", |ctx: Context, r: InputResponseEvent| async move {
                ctx.write_event_to_stream(Hop { n: 1, x: 7 });
                Ok::<_, WorkflowError>(StopEvent::new(json!({
                    "order": ctx.get::<serde_json::Value>("order")?,
                    "answer": r.response,
                })))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap()
}

/// Where the processes of one test meet.
#[derive(Clone)]
enum Backend {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl Backend {
    fn env(&self) -> (String, Option<String>) {
        match self {
            Backend::Sqlite(path) => (format!("sqlite:{}", path.display()), None),
            Backend::Postgres { url, schema } => (url.clone(), Some(schema.clone())),
        }
    }

    async fn open(&self) -> Arc<dyn RunStoreObj> {
        match self {
            Backend::Sqlite(path) => Arc::new(EmbeddedStore::open(path).unwrap()),
            Backend::Postgres { url, schema } => postgres(url, schema).await,
        }
    }
}

/// A `RunStore` as a trait object that can also make a worker and a client.
trait RunStoreObj: Send + Sync {
    fn worker(&self) -> blazen::WorkerBuilder;
    fn client(&self) -> RunClient;
}

impl<S: RunStore + Clone + 'static> RunStoreObj for S {
    fn worker(&self) -> blazen::WorkerBuilder {
        Worker::builder(self.clone())
    }
    fn client(&self) -> RunClient {
        RunClient::new(self.clone())
    }
}

async fn postgres(url: &str, schema: &str) -> Arc<dyn RunStoreObj> {
    Arc::new(
        blazen::PostgresStore::connect_with_schema(url, schema)
            .await
            .expect("BLAZEN_TEST_POSTGRES is set but PostgreSQL is unreachable"),
    )
}

/// The backends to run on: SQLite always, PostgreSQL when `BLAZEN_TEST_POSTGRES` is set.
fn backends(dir: &TempDir) -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite(dir.0.join("runs.db"))];
    match std::env::var("BLAZEN_TEST_POSTGRES") {
        Ok(url) => all.push(Backend::Postgres {
            url,
            schema: format!("replicas_{}", uuid::Uuid::new_v4().simple()),
        }),
        Err(_) => eprintln!("postgres part skipped: BLAZEN_TEST_POSTGRES not set"),
    }
    all
}

/// The worker process's part: run workers on the store named in the environment until killed.
async fn worker_process() {
    let target = std::env::var(WORKER_ENV).unwrap();
    let store: Arc<dyn RunStoreObj> = match target.strip_prefix("sqlite:") {
        Some(path) => Arc::new(EmbeddedStore::open(path).unwrap()),
        None => postgres(&target, &std::env::var(SCHEMA_ENV).unwrap()).await,
    };
    let _worker = store
        .worker()
        .workflow(chain())
        .workflow(asking())
        .lease(LEASE)
        .start()
        .await
        .unwrap();
    std::future::pending::<()>().await;
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("blazen-replicas-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A worker process; SIGKILLed on drop.
struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Replica {
    fn spawn(backend: &Backend) -> Replica {
        let (target, schema) = backend.env();
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["replica_worker_process", "--exact", "--nocapture"])
            .env(WORKER_ENV, target)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(schema) = schema {
            cmd.env(SCHEMA_ENV, schema);
        }
        Replica(cmd.spawn().unwrap())
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// Not a test of its own: the entry point of worker processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_worker_process() {
    if std::env::var_os(WORKER_ENV).is_some() {
        worker_process().await;
    }
}

/// Starts `n` runs of the chain through a short-lived worker in this process, which then
/// hands them over (its shutdown): they finish on the replicas.
async fn start_chains(store: &dyn RunStoreObj, n: u64) -> Vec<(uuid::Uuid, u64)> {
    start_chains_with(store, n, 20).await
}

async fn start_chains_with(
    store: &dyn RunStoreObj,
    n: u64,
    delay_ms: u64,
) -> Vec<(uuid::Uuid, u64)> {
    let starter = store
        .worker()
        .workflow(chain())
        .lease(LEASE)
        // This process only starts runs: it claims none back.
        .claim_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let mut runs = Vec::new();
    for x in 1..=n {
        let handler = starter
            .run("replica-chain", json!({ "x": x, "delay_ms": delay_ms }))
            .await
            .unwrap();
        runs.push((handler.run_id(), x));
    }
    starter.shutdown().await;
    runs
}

async fn results_within(client: &RunClient, runs: &[(uuid::Uuid, u64)], limit: Duration) {
    let all = futures::future::join_all(runs.iter().map(|(id, x)| {
        let client = client.clone();
        async move { (client.result(*id).await, *x) }
    }));
    let results = tokio::time::timeout(limit, all)
        .await
        .expect("every run finishes in time");
    for (result, x) in results {
        let stop = result.unwrap();
        assert_eq!(stop.result, json!(55 * x), "run with x = {x}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_runs_finish_on_the_others_with_the_uninterrupted_result() {
    if std::env::var_os(WORKER_ENV).is_some() {
        return;
    }
    let dir = TempDir::new();
    for backend in backends(&dir) {
        let store = backend.open().await;
        let replicas: Vec<Replica> = (0..3).map(|_| Replica::spawn(&backend)).collect();
        let runs = start_chains(&*store, 200).await;
        // Mid-run: some hops done everywhere, none finished.
        tokio::time::sleep(Duration::from_millis(150)).await;
        replicas[0].signal("-KILL");
        let client = store.client();
        results_within(&client, &runs, Duration::from_secs(60)).await;
        drop(replicas);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_is_fenced_and_its_runs_finish_elsewhere() {
    if std::env::var_os(WORKER_ENV).is_some() {
        return;
    }
    let dir = TempDir::new();
    for backend in backends(&dir) {
        if let Backend::Sqlite(_) = backend {
            // A process frozen inside a SQLite write transaction holds the file's lock: the
            // others wait for it (fencing holds, progress does not). Shared runs across
            // frozen processes need a server: PostgreSQL.
            continue;
        }
        let store = backend.open().await;
        let stopped = Replica::spawn(&backend);
        // Let the first replica claim everything (hops of 300 ms: the runs last 3 s), then
        // freeze it past its lease.
        let runs = start_chains_with(&*store, 20, 300).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = store.client();
        while client.status(runs[0].0).await.unwrap().owner.is_none() {
            assert!(Instant::now() < deadline, "the replica claims the runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stopped.signal("-STOP");
        let other = Replica::spawn(&backend);
        results_within(&client, &runs, Duration::from_secs(60)).await;
        // The new owner's last writes (the final compaction) settle.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let finished: Vec<_> =
            futures::future::join_all(runs.iter().map(|(id, _)| client.status(*id))).await;
        // Woken up, the stopped replica's writes are fenced: nothing it does changes the
        // finished runs.
        stopped.signal("-CONT");
        tokio::time::sleep(LEASE).await;
        for ((id, x), before) in runs.iter().zip(finished) {
            let before = before.unwrap();
            let now = client.status(*id).await.unwrap();
            assert_eq!(now.status, SnapshotStatus::Completed);
            assert_eq!(now.epoch, before.epoch, "no claim after the run finished");
            assert_eq!(
                now.updated_at_ms, before.updated_at_ms,
                "nothing written after"
            );
            assert_eq!(client.result(*id).await.unwrap().result, json!(55 * x));
        }
        drop((stopped, other));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_and_a_stream_cross_processes() {
    if std::env::var_os(WORKER_ENV).is_some() {
        return;
    }
    let dir = TempDir::new();
    for backend in backends(&dir) {
        let store = backend.open().await;
        let replica = Replica::spawn(&backend);
        // A run started here and handed over to the replica; it asks a person.
        let starter = store
            .worker()
            .workflow(asking())
            .lease(LEASE)
            .claim_interval(Duration::from_secs(3600))
            .start()
            .await
            .unwrap();
        let handler = starter
            .run("replica-ask", json!({"order": 42}))
            .await
            .unwrap();
        let run_id = handler.run_id();
        let client = store.client();
        let deadline = Instant::now() + Duration::from_secs(10);
        let request = loop {
            if let Some(r) = client.input_requests(run_id).await.unwrap().pop() {
                break r;
            }
            assert!(Instant::now() < deadline, "the run asks");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        starter.shutdown().await;
        // The replica takes the run over; the answer goes through the store.
        client
            .respond(run_id, request.request_id, json!("yes"))
            .await
            .unwrap();
        let stop = tokio::time::timeout(Duration::from_secs(20), client.result(run_id))
            .await
            .expect("answered in time")
            .unwrap();
        assert_eq!(stop.result, json!({"order": 42, "answer": "yes"}));
        // The stream, read from here: from the start, and again from a position.
        let all: Vec<(u64, DynamicEvent)> =
            client.events(run_id, 0).map(|r| r.unwrap()).collect().await;
        let positions: Vec<u64> = all.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, (0..all.len() as u64).collect::<Vec<_>>());
        let types: Vec<&str> = all.iter().map(|(_, e)| e.event_type()).collect();
        assert!(types.contains(&"blazen::InputRequiredEvent"), "{types:?}");
        assert!(
            types.iter().filter(|t| t.ends_with("Hop")).count() == 2,
            "{types:?}"
        );
        let tail: Vec<(u64, DynamicEvent)> =
            client.events(run_id, 2).map(|r| r.unwrap()).collect().await;
        assert_eq!(tail.len(), all.len() - 2);
        assert_eq!(tail[0].0, 2);
        assert_eq!(tail[0].1.to_json(), all[2].1.to_json());
        drop(replica);
    }
}
