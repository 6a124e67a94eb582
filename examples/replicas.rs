//! Runs that outlive a process: three worker processes share one store; runs are started,
//! one worker is killed with SIGKILL mid-run, and its runs finish on the other two.
//!
//! ```sh
//! cargo run --example replicas                                   # an embedded store (a SQLite file)
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example replicas
//! ```
//!
//! The workers are this program started again with `--worker <id>`. No key, no network.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blazen::prelude::*;
use blazen::{RunClient, RunStore, Worker, WorkerBuilder};

const RUNS: u64 = 30;
const LEASE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Hop {
    n: u64,
    x: u64,
}

#[step]
fn begin(_ctx: &Context, start: StartEvent) -> Hop {
    let x = start.get("x").and_then(|x| x.as_u64()).unwrap_or(0);
    Hop { n: 1, x }
}

/// Ten hops of 100 ms; each writes `hop{n}` (harmless to repeat: at-least-once).
#[step]
async fn hop(ctx: &Context, h: Hop) -> Result<StepOutput, WorkflowError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    ctx.set(&format!("hop{}", h.n), &(h.x * h.n))?;
    if h.n < 10 {
        return Ok(StepOutput::Single(Box::new(Hop { n: h.n + 1, x: h.x })));
    }
    let mut sum = 0u64;
    for n in 1..=10 {
        sum += ctx.get::<u64>(&format!("hop{n}"))?.unwrap_or(0);
    }
    Ok(StepOutput::Single(Box::new(StopEvent::new(json!(sum)))))
}

fn chain() -> Workflow {
    Workflow::builder("chain")
        .step(begin::step())
        .step(
            hop::step()
                .emits(blazen::EventInfo::of::<Hop>())
                .emits(blazen::EventInfo::of::<StopEvent>()),
        )
        .build()
        .expect("a valid graph")
}

/// The store: PostgreSQL when `DATABASE_URL` is set, else a SQLite file.
trait Shared: Send + Sync {
    fn worker(&self) -> WorkerBuilder;
    fn client(&self) -> RunClient;
}

impl<S: RunStore + Clone + 'static> Shared for S {
    fn worker(&self) -> WorkerBuilder {
        Worker::builder(self.clone())
    }
    fn client(&self) -> RunClient {
        RunClient::new(self.clone())
    }
}

async fn open(db: &str) -> Arc<dyn Shared> {
    if db.starts_with("postgres") {
        Arc::new(
            blazen::PostgresStore::connect(db)
                .await
                .expect("PostgreSQL reachable"),
        )
    } else {
        Arc::new(EmbeddedStore::open(db).expect("a writable file"))
    }
}

fn spawn_worker(db: &str, id: &str) -> Child {
    Command::new(std::env::current_exe().expect("this program"))
        .args(["--worker", id, db])
        .stdin(Stdio::null())
        .spawn()
        .expect("a worker process")
}

#[tokio::main]
async fn main() -> Result<(), WorkflowError> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--worker") {
        let store = open(&args[3]).await;
        let _worker = store
            .worker()
            .id(args[2].clone())
            .workflow(chain())
            .lease(LEASE)
            .start()
            .await?;
        std::future::pending::<()>().await;
    }

    let dir = std::env::temp_dir().join(format!("blazen-replicas-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let db =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| dir.join("runs.db").display().to_string());
    let store = open(&db).await;
    println!(
        "store: {}",
        if db.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite file"
        }
    );

    let mut workers: Vec<Child> = ["replica-a", "replica-b", "replica-c"]
        .iter()
        .map(|id| spawn_worker(&db, id))
        .collect();

    // Runs are started by a short-lived worker here, which hands them over at shutdown.
    let starter = store
        .worker()
        .workflow(chain())
        .lease(LEASE)
        .start()
        .await?;
    let mut runs = Vec::new();
    for x in 1..=RUNS {
        runs.push((starter.run("chain", json!({ "x": x })).await?.run_id(), x));
    }
    starter.shutdown().await;
    println!("started {RUNS} runs (10 hops of 100 ms each) and handed them to 3 workers");

    let client = store.client();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut owned_by_a = 0;
    for (id, _) in &runs {
        if client.status(*id).await?.owner.as_deref() == Some("replica-a") {
            owned_by_a += 1;
        }
    }
    workers[0].kill().expect("kill -9");
    let killed = Instant::now();
    println!("killed replica-a with SIGKILL while it owned {owned_by_a} runs");

    let mut moved = 0;
    for (id, x) in &runs {
        let stop = client.result(*id).await?;
        assert_eq!(stop.result, json!(55 * x), "the uninterrupted result");
        if client.status(*id).await?.epoch > 2 {
            moved += 1;
        }
    }
    println!(
        "all {RUNS} runs finished with the uninterrupted result, {:.1} s after the kill; \
         {moved} of them were taken over after it (lease {} s)",
        killed.elapsed().as_secs_f64(),
        LEASE.as_secs()
    );
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
