//! Replica benchmarks (issue 14), across real processes on one PostgreSQL:
//!
//! - **throughput**: 1,000 concurrent 10-step runs over 3 worker processes, in steps per
//!   second, beside the same database's rate of bare single-row `INSERT … COMMIT`s from as
//!   many concurrent clients (the floor: one checkpoint is at least one durable commit);
//! - **takeover latency**: SIGKILL one of the 3 workers mid-run; for each run it owned, the
//!   time from the kill to the first step that another worker starts for it (p50 / p99);
//! - **event latency**: `RunClient::send_event` in this process → the waiting step starts on
//!   the owning worker process (p50 / p99 over 200 events; LISTEN/NOTIFY wakes the owner).
//!
//! Multi-process figures are not divan's model (one sample is a whole cluster), so this
//! bench has its own harness. The workers are this binary started again with
//! `BLAZEN_BENCH_WORKER` set. Needs `BLAZEN_TEST_POSTGRES`; without it, it prints one line.
//!
//! Run: `BLAZEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo bench --bench replicas`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use blazen::prelude::*;
use blazen::{EventInfo, PostgresStore, RunClient, StepOutput, Worker};
use futures::StreamExt;

const WORKER_ENV: &str = "BLAZEN_BENCH_WORKER";
const SCHEMA_ENV: &str = "BLAZEN_BENCH_SCHEMA";
/// Set in a worker process: how many chain runs it starts itself (their ids on stdout).
const START_ENV: &str = "BLAZEN_BENCH_START";
const RUNS: u64 = 1_000;
const STEPS: u64 = 10;
const LEASE: Duration = Duration::from_secs(2);

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One hop of a chain; `sleep_ms` long.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Hop {
    n: u64,
    sleep_ms: u64,
}

/// An event sent from outside, stamped when sent.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Ping {
    sent_us: u64,
}

/// Written to the stream when a hop starts: where and when.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Started {
    n: u64,
    pid: u32,
    at_us: u64,
}

fn chain() -> Workflow {
    let begin = Step::new("begin", |_ctx, ev| async move {
        let start: StartEvent = blazen::event::downcast_event(ev)?;
        let sleep_ms = start.get("sleep_ms").and_then(|v| v.as_u64()).unwrap_or(0);
        Ok(StepOutput::Single(Box::new(Hop { n: 1, sleep_ms })))
    })
    .accepts(EventInfo::of::<StartEvent>())
    .emits(EventInfo::of::<Hop>());
    let hop = Step::new("hop", |ctx: Context, ev| async move {
        let h: Hop = blazen::event::downcast_event(ev)?;
        ctx.write_event_to_stream(Started {
            n: h.n,
            pid: std::process::id(),
            at_us: now_us(),
        });
        tokio::time::sleep(Duration::from_millis(h.sleep_ms)).await;
        ctx.set(&format!("hop{}", h.n), &h.n)?;
        Ok(if h.n < STEPS {
            StepOutput::Single(Box::new(Hop {
                n: h.n + 1,
                sleep_ms: h.sleep_ms,
            }))
        } else {
            StepOutput::Single(Box::new(StopEvent::new(json!(h.n))))
        })
    })
    .accepts(EventInfo::of::<Hop>())
    .emits(EventInfo::of::<Hop>())
    .emits(EventInfo::of::<StopEvent>());
    Workflow::builder("bench-chain")
        .step(begin)
        .step(hop)
        .build()
        .expect("graph")
}

/// Waits for a `Ping`; stops with the latency from its send to the wait's end.
#[step(waits_for = [Ping])]
async fn pinged(ctx: &Context, _start: StartEvent) -> Result<StopEvent, WorkflowError> {
    let ping: Ping = ctx.wait_for_event().await?;
    Ok(StopEvent::new(json!(now_us().saturating_sub(ping.sent_us))))
}

fn ping() -> Workflow {
    workflow!("bench-ping", [pinged])
}

async fn store(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::connect_with_schema(url, schema)
        .await
        .expect("PostgreSQL reachable")
}

fn spawn_worker(url: &str, schema: &str, start: u64) -> Child {
    Command::new(std::env::current_exe().expect("this bench"))
        .env(WORKER_ENV, url)
        .env(SCHEMA_ENV, schema)
        .env(START_ENV, start.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("a worker process")
}

/// The run ids a worker process printed (one per line, then an empty line).
fn started_ids(worker: &mut Child) -> Vec<uuid::Uuid> {
    use std::io::BufRead;
    let out = worker.stdout.take().expect("piped stdout");
    std::io::BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.parse().ok())
        .collect()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Starts `n` runs through a short-lived worker here that hands them over at shutdown.
async fn start(
    store: &PostgresStore,
    wf: Workflow,
    input: serde_json::Value,
    n: u64,
) -> Vec<uuid::Uuid> {
    let name = wf.name().to_owned();
    let starter = Worker::builder(store.clone())
        .workflow(wf)
        .lease(LEASE)
        .claim_interval(Duration::from_secs(3600))
        .start()
        .await
        .expect("starter");
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(
            starter
                .run(&name, input.clone())
                .await
                .expect("run")
                .run_id(),
        );
    }
    starter.shutdown().await;
    ids
}

async fn bare_commits(store: &PostgresStore, clients: usize, per_client: usize) -> f64 {
    let setup = store.client().await.expect("client");
    setup
        .batch_execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, v text)")
        .await
        .expect("floor table");
    let began = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = store.client().await.expect("client");
                let insert = c
                    .prepare("INSERT INTO bench_floor (v) VALUES ($1)")
                    .await
                    .expect("prepare");
                let v = "x".repeat(1000);
                for _ in 0..per_client {
                    c.execute(&insert, &[&v]).await.expect("insert");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
    (clients * per_client) as f64 / began.elapsed().as_secs_f64()
}

async fn bench(url: &str) {
    let schema = format!("bench_replicas_{}", uuid::Uuid::new_v4().simple());
    let store = store(url, &schema).await;
    let client = RunClient::new(store.clone());

    // Floor: bare durable commits from 3 × 16 concurrent clients (the workers' pools).
    let floor = bare_commits(&store, 16, 200).await;

    // Throughput: 1,000 runs of 10 steps (no sleep), each worker starting a third of them
    // at once (from process start to the last result).
    let began = Instant::now();
    let mut workers: Vec<Child> = (0..3)
        .map(|i| spawn_worker(url, &schema, RUNS / 3 + u64::from(i == 0) * (RUNS % 3)))
        .collect();
    let mut ids = Vec::new();
    for w in &mut workers {
        ids.extend(started_ids(w));
    }
    let created = began.elapsed();
    futures::future::join_all(ids.iter().map(|id| client.result(*id))).await;
    let elapsed = began.elapsed();
    let steps = (ids.len() as u64 * (STEPS + 1)) as f64;
    println!(
        "throughput: {} runs × {} steps over 3 worker processes in {:.2} s (all started after \
         {:.2} s): {:.0} steps/s; floor: {floor:.0} bare INSERT…COMMIT/s from 16 clients \
         ({:.2}× the floor)",
        ids.len(),
        STEPS + 1,
        elapsed.as_secs_f64(),
        created.as_secs_f64(),
        steps / elapsed.as_secs_f64(),
        steps / elapsed.as_secs_f64() / floor,
    );

    // Takeover: 60 slow runs (10 hops of 200 ms), kill one worker at 500 ms.
    let ids = start(&store, chain(), json!({"sleep_ms": 200}), 60).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut victims = workers;
    let killed_pid = victims[0].id();
    victims[0].kill().expect("kill -9");
    let killed_us = now_us();
    futures::future::join_all(ids.iter().map(|id| client.result(*id))).await;
    let mut takeover = Vec::new();
    for id in &ids {
        let events: Vec<_> = client.events(*id, 0).collect().await;
        let mut by_killed = false;
        let mut first_after = None;
        for (_, ev) in events.into_iter().flatten() {
            if let Ok(s) = serde_json::from_value::<Started>(ev.to_json()) {
                if s.pid == killed_pid {
                    by_killed = true;
                } else if by_killed && s.at_us > killed_us && first_after.is_none() {
                    first_after = Some(s.at_us - killed_us);
                }
            }
        }
        takeover.extend(first_after);
    }
    takeover.sort_unstable();
    println!(
        "takeover (lease {} s): {} runs moved; kill -9 → first step elsewhere p50 {:.0} ms, \
         p99 {:.0} ms",
        LEASE.as_secs(),
        takeover.len(),
        pct(&takeover, 0.5),
        pct(&takeover, 0.99),
    );

    // Event latency: 200 runs waiting for a Ping, owned by the two live workers.
    let ids = start(&store, ping(), json!({}), 200).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut latency = Vec::new();
    for id in &ids {
        client
            .send_event(*id, Ping { sent_us: now_us() })
            .await
            .expect("send");
        let stop = client.result(*id).await.expect("result");
        latency.push(stop.result.as_u64().unwrap_or(0));
    }
    latency.sort_unstable();
    println!(
        "event latency: send_event → waiting step resumes on its owner: p50 {:.2} ms, p99 {:.2} ms",
        pct(&latency, 0.5),
        pct(&latency, 0.99),
    );
    for mut w in victims {
        let _ = w.kill();
        let _ = w.wait();
    }
    let c = store.client().await.expect("client");
    let _ = c
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(url) = std::env::var(WORKER_ENV) {
        let schema = std::env::var(SCHEMA_ENV).expect("schema");
        let runs: u64 = std::env::var(START_ENV)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        rt.block_on(async {
            let store = store(&url, &schema).await;
            let worker = Worker::builder(store)
                .workflow(chain())
                .workflow(ping())
                .lease(LEASE)
                .start()
                .await
                .expect("worker");
            let started = futures::future::join_all(
                (0..runs).map(|_| worker.run("bench-chain", json!({"sleep_ms": 0}))),
            )
            .await;
            for handler in started {
                println!("{}", handler.expect("run").run_id());
            }
            println!();
            std::future::pending::<()>().await;
        });
        return;
    }
    match std::env::var("BLAZEN_TEST_POSTGRES") {
        Ok(url) => rt.block_on(bench(&url)),
        Err(_) => println!("replicas bench skipped: BLAZEN_TEST_POSTGRES not set"),
    }
}
