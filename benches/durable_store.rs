//! Durable-store benchmarks (issue 14): what one step's checkpoint costs as the run's
//! context grows.
//!
//! For a context of 1 KB, 100 KB and 1 MB (1 KB values under distinct keys), one step that
//! changed one 1 KB key checkpoints either as
//! - `append`: a journal entry (the changed key and the frame): flat, whatever the context;
//! - `save`: the whole snapshot, rewritten (what every checkpoint cost before the journal).
//!
//! Both for `EmbeddedStore` (a SQLite file in the temp dir, WAL synced at every commit) and,
//! when `BLAZEN_TEST_POSTGRES` names a database, `PostgresStore` (in a schema of its own,
//! dropped at the end), with the floor `pg_insert_commit`: one bare single-row
//! `INSERT … COMMIT` of 1 KB through the same pool. The byte counters are the bytes one
//! checkpoint hands the store (encoded entry or snapshot).
//!
//! Run: `BLAZEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo bench --bench
//! durable_store`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use blazen::persist::{
    CheckpointStore, EmbeddedStore, Frame, JournalEntry, Lease, RunStore, WorkflowSnapshot,
};
use blazen::PostgresStore;
use divan::counter::BytesCount;
use serde_json::json;
use tokio::runtime::Runtime;

const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];
const LEASE: Duration = Duration::from_secs(3600);

fn main() {
    divan::main();
    if let Some((store, schema)) = postgres() {
        runtime().block_on(async {
            let client = store.client().await.expect("client");
            client
                .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await
                .expect("drop the bench schema");
        });
    }
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

/// The Postgres store of this bench run, in a fresh schema; `None` without
/// `BLAZEN_TEST_POSTGRES`.
fn postgres() -> Option<&'static (PostgresStore, String)> {
    static PG: OnceLock<Option<(PostgresStore, String)>> = OnceLock::new();
    PG.get_or_init(|| {
        let Ok(url) = std::env::var("BLAZEN_TEST_POSTGRES") else {
            eprintln!("skipped: BLAZEN_TEST_POSTGRES not set (no Postgres figures)");
            return None;
        };
        let schema = format!("blazen_bench_{}", uuid::Uuid::new_v4().simple());
        let store = runtime()
            .block_on(PostgresStore::connect_with_schema(&url, &schema))
            .expect("BLAZEN_TEST_POSTGRES is set but unusable");
        runtime().block_on(async {
            let client = store.client().await.expect("client");
            client
                .batch_execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, v text)")
                .await
                .expect("floor table");
        });
        Some((store, schema))
    })
    .as_ref()
}

fn embedded() -> EmbeddedStore {
    let dir = std::env::temp_dir().join(format!("blazen-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join("store.db");
    EmbeddedStore::open(path).expect("open")
}

/// A running snapshot whose context holds `size` bytes in 1 KB values.
fn snapshot(size: usize) -> WorkflowSnapshot {
    let mut snap = WorkflowSnapshot::new("bench", "v1:0", uuid::Uuid::new_v4());
    for k in 0..(size / 1_000).max(1) {
        snap.state
            .insert(format!("key{k:05}"), json!("x".repeat(1_000 - 20)));
    }
    snap
}

/// The journal entry of a step that changed one 1 KB key.
fn entry(snap: &WorkflowSnapshot) -> JournalEntry {
    let mut e = JournalEntry::new(Frame::of(snap));
    e.step = Some("work".into());
    e.event_type = Some("Work".into());
    e.set
        .insert("key00000".into(), json!("y".repeat(1_000 - 20)));
    e
}

fn setup<S: RunStore>(store: &S, size: usize) -> (WorkflowSnapshot, Lease) {
    let snap = snapshot(size);
    let lease = runtime()
        .block_on(store.create(&snap, "bench", LEASE))
        .expect("create");
    (snap, lease)
}

fn bench_append<S: RunStore>(bencher: divan::Bencher, store: &S, size: usize) {
    let (snap, lease) = setup(store, size);
    let e = entry(&snap);
    bencher
        .counter(BytesCount::new(e.encoded_len()))
        .bench_local(|| {
            runtime()
                .block_on(store.append(&lease, &e))
                .expect("append")
        });
}

fn bench_save<S: CheckpointStore>(bencher: divan::Bencher, store: &S, size: usize) {
    let mut snap = snapshot(size);
    snap.state
        .insert("key00000".into(), json!("y".repeat(1_000 - 20)));
    let bytes = snap.to_json().expect("encode").len();
    bencher
        .counter(BytesCount::new(bytes))
        .bench_local(|| runtime().block_on(store.save(&snap)).expect("save"));
}

#[divan::bench(args = SIZES, sample_count = 30, sample_size = 5)]
fn embedded_append(bencher: divan::Bencher, size: usize) {
    bench_append(bencher, &embedded(), size);
}

#[divan::bench(args = SIZES, sample_count = 30, sample_size = 5)]
fn embedded_save(bencher: divan::Bencher, size: usize) {
    bench_save(bencher, &embedded(), size);
}

#[divan::bench(args = SIZES, sample_count = 30, sample_size = 5)]
fn pg_append(bencher: divan::Bencher, size: usize) {
    match postgres() {
        Some((store, _)) => bench_append(bencher, store, size),
        None => bencher.bench_local(|| ()),
    }
}

#[divan::bench(args = SIZES, sample_count = 30, sample_size = 5)]
fn pg_save(bencher: divan::Bencher, size: usize) {
    match postgres() {
        Some((store, _)) => bench_save(bencher, store, size),
        None => bencher.bench_local(|| ()),
    }
}

/// The floor: one bare single-row `INSERT … COMMIT` (autocommit, prepared) of 1 KB through
/// the store's pool.
#[divan::bench(sample_count = 30, sample_size = 5)]
fn pg_insert_commit(bencher: divan::Bencher) {
    let Some((store, _)) = postgres() else {
        bencher.bench_local(|| ());
        return;
    };
    let value = "z".repeat(1_000);
    bencher
        .counter(BytesCount::new(value.len()))
        .bench_local(|| {
            runtime().block_on(async {
                let client = store.client().await.expect("client");
                let stmt = client
                    .prepare_cached("INSERT INTO bench_floor (v) VALUES ($1)")
                    .await
                    .expect("prepare");
                client.execute(&stmt, &[&value]).await.expect("insert");
            })
        });
}
