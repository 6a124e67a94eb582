//! [`EmbeddedStore`]: the default durable checkpoint store, a SQLite file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use uuid::Uuid;

use super::error::PersistError;
use super::journal::JournalEntry;
use super::snapshot::{now_ms, SnapshotStatus, WorkflowSnapshot};
use super::store::{CheckpointStore, RunInfo};

mod runs;

/// The schema this build creates and reads (`PRAGMA user_version`).
///
/// - 1: `blazen_runs` with one snapshot per run.
/// - 2: ownership (owner, lease, epoch, wake and cancel flags, journal length) on
///   `blazen_runs`, and the tables `blazen_journal`, `blazen_stream`, `blazen_inbox` and
///   `blazen_notices`; the snapshots move to `blazen_snapshots` (`blazen_runs.snapshot`
///   stays, empty): SQLite rewrites a whole row when one column changes, so the row every
///   checkpoint updates must not hold the snapshot, or a checkpoint would cost as much as
///   the context is large. A version-1 database is migrated when opened.
const SCHEMA_VERSION: i64 = 2;

/// How long an operation waits for another process holding the database's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Version 1.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS blazen_runs (
    run_id         TEXT PRIMARY KEY NOT NULL,
    workflow       TEXT NOT NULL,
    status         TEXT NOT NULL,
    format_version INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    snapshot       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS blazen_runs_workflow ON blazen_runs (workflow, updated_at_ms);
";

/// Version 1 → 2.
const MIGRATE_V2: &str = "
ALTER TABLE blazen_runs ADD COLUMN owner TEXT;
ALTER TABLE blazen_runs ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blazen_runs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blazen_runs ADD COLUMN wake INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blazen_runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blazen_runs ADD COLUMN journal_len INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS blazen_runs_claim ON blazen_runs (workflow, lease_until_ms);
CREATE TABLE IF NOT EXISTS blazen_journal (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    epoch  INTEGER NOT NULL,
    entry  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS blazen_stream (
    run_id   TEXT NOT NULL,
    position INTEGER NOT NULL,
    event    TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS blazen_inbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS blazen_inbox_run ON blazen_inbox (run_id, id);
CREATE TABLE IF NOT EXISTS blazen_notices (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    kind   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blazen_snapshots (
    run_id   TEXT PRIMARY KEY NOT NULL,
    snapshot TEXT NOT NULL
);
INSERT INTO blazen_snapshots (run_id, snapshot) SELECT run_id, snapshot FROM blazen_runs;
UPDATE blazen_runs SET snapshot = '';
";

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// The default durable [`CheckpointStore`]: one SQLite database file (bundled SQLite, no
/// system library needed). Cheap to clone; clones share one connection.
///
/// - Every write is one transaction committed with the write-ahead log and
///   `synchronous = FULL`: once it returns, it survives SIGKILL and power loss, and a crash
///   during a write leaves the previous state intact.
/// - Several processes may open the same file (SQLite's locking; writers wait up to 10 s).
///   It is also a [`RunStore`](super::RunStore) for the processes of one machine: claims
///   and fenced writes take the write lock first (`BEGIN IMMEDIATE`), so two processes
///   never claim one run; leases are measured on the machine's clock; wake-ups
///   ([`notices`](super::RunStore::notices)) are polled every 50 ms.
/// - Blocking database calls run on Tokio's blocking threads
///   ([`spawn_blocking`](tokio::task::spawn_blocking)); outside a Tokio runtime they run
///   on the calling thread.
/// - The table `blazen_runs` (`run_id`, `workflow`, `status`, `format_version`,
///   `updated_at_ms`, `snapshot` as JSON text, and the ownership columns) can be inspected
///   with the `sqlite3` tool; `blazen_journal`, `blazen_stream` and `blazen_inbox` hold
///   journal entries, stream events and messages as JSON text. A database written by an
///   older build (schema version 1) is migrated when opened.
///
/// ```
/// use blazen::persist::{CheckpointStore, EmbeddedStore, WorkflowSnapshot};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), blazen::persist::PersistError> {
/// # let dir = std::env::temp_dir().join(format!("blazen-doc-{}", uuid::Uuid::new_v4()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("runs.db");
/// let store = EmbeddedStore::open(&path)?;
/// let snap = WorkflowSnapshot::new("wf", "v1:abc", uuid::Uuid::new_v4());
/// store.save(&snap).await?;
/// drop(store);
///
/// let reopened = EmbeddedStore::open(&path)?;
/// assert_eq!(reopened.load(snap.run_id).await?, Some(snap));
/// # drop(reopened);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// Opens a connection to `path` with the store's settings (busy timeout, WAL, FULL sync).
fn connection(path: &Path, store: &str) -> Result<Connection, PersistError> {
    let err = |e: rusqlite::Error| PersistError::backend(store, e);
    let conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // WAL: a commit appends to the log, readers do not block the writer, and a torn
    // write is discarded on recovery. FULL: the log is synced at every commit.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(PersistError::backend(
            store,
            format!("could not switch to write-ahead logging (journal mode is `{mode}`)"),
        ));
    }
    conn.execute_batch("PRAGMA synchronous = FULL;")
        .map_err(err)?;
    Ok(conn)
}

impl EmbeddedStore {
    /// Opens the store at `path`, creating the file and its tables if needed, and migrating
    /// a database of an older build.
    ///
    /// Fails with [`PersistError::Backend`] if the file cannot be opened or is not a SQLite
    /// database, and with [`PersistError::UnsupportedSchema`] if a newer build wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let path = path.as_ref().to_path_buf();
        let store = path.display().to_string();
        let err = |e: rusqlite::Error| PersistError::backend(store.clone(), e);

        let mut conn = connection(&path, &store)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(err)?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA_V1).map_err(err)?;
                tx.execute_batch(MIGRATE_V2).map_err(err)?;
            }
            1 => tx.execute_batch(MIGRATE_V2).map_err(err)?,
            SCHEMA_VERSION => {}
            found => {
                return Err(PersistError::UnsupportedSchema {
                    store,
                    found,
                    supported: SCHEMA_VERSION,
                })
            }
        }
        if version != SCHEMA_VERSION {
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;

        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection on a blocking thread.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, PersistError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T, PersistError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let job = move || {
            let mut conn = lock(&inner.conn);
            f(&mut conn, &inner.path.display().to_string())
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(job)
                .await
                .map_err(|e| PersistError::Interrupted(e.to_string()))?,
            Err(_) => job(),
        }
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction (the database's write lock taken
    /// first, so what `f` reads stays true until it commits), committed if `f` succeeds.
    async fn write<T, F>(&self, f: F) -> Result<T, PersistError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &str) -> Result<T, PersistError> + Send + 'static,
    {
        self.with_conn(move |conn, store| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| PersistError::backend(store, e))?;
            let out = f(&tx, store)?;
            tx.commit().map_err(|e| PersistError::backend(store, e))?;
            Ok(out)
        })
        .await
    }
}

// Every operation is one transaction, rolled back when dropped: a panic while holding the
// lock leaves no transaction open, so a poisoned connection is still usable.
use crate::sync::lock;

fn to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Writes the snapshot of `run_id` (its own table: see [`SCHEMA_VERSION`]).
fn put_snapshot(conn: &Connection, run_id: &str, json: &str) -> rusqlite::Result<()> {
    conn.prepare(
        "INSERT INTO blazen_snapshots (run_id, snapshot) VALUES (?1, ?2)
         ON CONFLICT (run_id) DO UPDATE SET snapshot = excluded.snapshot",
    )?
    .execute(params![run_id, json])?;
    Ok(())
}

/// Reads the snapshot of `run_id` and applies its journal, in the transaction `conn` is in.
fn load_run(
    conn: &Connection,
    store: &str,
    run_id: Uuid,
) -> Result<Option<WorkflowSnapshot>, PersistError> {
    let err = |e: rusqlite::Error| PersistError::backend(store, e);
    let id = run_id.to_string();
    let json: Option<String> = conn
        .prepare("SELECT snapshot FROM blazen_snapshots WHERE run_id = ?1")
        .and_then(|mut s| s.query_row(params![id], |row| row.get(0)).optional())
        .map_err(err)?;
    let Some(json) = json else {
        return Ok(None);
    };
    let mut snapshot = WorkflowSnapshot::from_json(&json)?;
    let mut stmt = conn
        .prepare("SELECT entry FROM blazen_journal WHERE run_id = ?1 ORDER BY seq")
        .map_err(err)?;
    let rows = stmt
        .query_map(params![id], |row| row.get::<_, String>(0))
        .map_err(err)?;
    for row in rows {
        let entry: JournalEntry =
            serde_json::from_str(&row.map_err(err)?).map_err(PersistError::Decode)?;
        entry.apply(&mut snapshot);
    }
    Ok(Some(snapshot))
}

#[async_trait]
impl CheckpointStore for EmbeddedStore {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        let json = snapshot.to_json()?;
        let run_id = snapshot.run_id.to_string();
        let workflow = snapshot.workflow.clone();
        let status = snapshot.status.as_str();
        let version = i64::from(snapshot.format_version);
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            tx.prepare(
                "INSERT INTO blazen_runs
                     (run_id, workflow, status, format_version, updated_at_ms, snapshot)
                 VALUES (?1, ?2, ?3, ?4, ?5, '')
                 ON CONFLICT (run_id) DO UPDATE SET
                     workflow = excluded.workflow,
                     status = excluded.status,
                     format_version = excluded.format_version,
                     updated_at_ms = excluded.updated_at_ms,
                     journal_len = 0",
            )
            .and_then(|mut s| {
                s.execute(params![run_id, workflow, status, version, to_i64(now_ms())])
            })
            .map_err(err)?;
            put_snapshot(tx, &run_id, &json).map_err(err)?;
            tx.prepare("DELETE FROM blazen_journal WHERE run_id = ?1")
                .and_then(|mut s| s.execute(params![run_id]))
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        self.with_conn(move |conn, store| {
            // A read transaction: the snapshot and its journal from one state of the file.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(|e| PersistError::backend(store, e))?;
            load_run(&tx, store, run_id)
        })
        .await
    }

    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        self.with_conn(|conn, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let mut stmt = conn
                .prepare(
                    "SELECT run_id, workflow, status, updated_at_ms FROM blazen_runs
                     ORDER BY updated_at_ms DESC, run_id",
                )
                .map_err(err)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .map_err(err)?;
            let mut runs = Vec::new();
            for row in rows {
                let (run_id, workflow, status, updated) = row.map_err(err)?;
                // One bad row must not hide every other run: skip it and say so.
                let Ok(id) = Uuid::parse_str(&run_id) else {
                    tracing::warn!(store, run_id, "embedded store: skipping a run with an invalid id");
                    continue;
                };
                let Some(status) = SnapshotStatus::parse(&status) else {
                    tracing::warn!(store, %id, status, "embedded store: skipping a run with an unknown status");
                    continue;
                };
                runs.push(RunInfo::new(
                    id,
                    workflow,
                    status,
                    u64::try_from(updated).unwrap_or(0),
                ));
            }
            Ok(runs)
        })
        .await
    }

    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let id = run_id.to_string();
            for table in [
                "blazen_journal",
                "blazen_stream",
                "blazen_inbox",
                "blazen_snapshots",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE run_id = ?1"),
                    params![id],
                )
                .map_err(err)?;
            }
            let n = tx
                .execute("DELETE FROM blazen_runs WHERE run_id = ?1", params![id])
                .map_err(err)?;
            Ok(n > 0)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::snapshot::{InputRequest, SerializedEvent};
    use serde_json::json;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("blazen-embedded-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn snapshot(workflow: &str) -> WorkflowSnapshot {
        let mut s = WorkflowSnapshot::new(workflow, "v1:abc", Uuid::new_v4());
        s.state.insert("n".into(), json!(1));
        s.bytes.insert("b".into(), vec![9, 8, 7]);
        s.queued.push(SerializedEvent::new("E", json!({"x": 1})));
        s.input_requests
            .push(InputRequest::new("ask", "ok?", json!(null)));
        s
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn save_load_list_delete_and_reopen() {
        let dir = TempDir::new();
        let path = dir.0.join("runs.db");
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(store.path(), path);
        let mut a = snapshot("wa");
        let b = snapshot("wb");
        store.save(&a).await.unwrap();
        store.save(&b).await.unwrap();
        assert_eq!(store.load(a.run_id).await.unwrap(), Some(a.clone()));
        assert_eq!(store.load(Uuid::new_v4()).await.unwrap(), None);

        a.status = SnapshotStatus::Paused;
        a.state.insert("n".into(), json!(2));
        store.clone().save(&a).await.unwrap();
        assert_eq!(store.load(a.run_id).await.unwrap(), Some(a.clone()));
        let list = store.list().await.unwrap();
        assert_eq!(list.len(), 2);
        let info = list.iter().find(|r| r.run_id == a.run_id).unwrap();
        assert_eq!(
            (info.workflow.as_str(), info.status),
            ("wa", SnapshotStatus::Paused)
        );
        assert!(list[0].updated_at_ms >= list[1].updated_at_ms);

        drop(store);
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(store.load(a.run_id).await.unwrap(), Some(a.clone()));
        assert_eq!(store.load(b.run_id).await.unwrap(), Some(b.clone()));
        assert!(store.delete(b.run_id).await.unwrap());
        assert!(!store.delete(b.run_id).await.unwrap());
        drop(store);
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(store.load(b.run_id).await.unwrap(), None);
        assert_eq!(store.list().await.unwrap().len(), 1);
    }

    #[test]
    fn works_outside_a_tokio_runtime() {
        let dir = TempDir::new();
        let store = EmbeddedStore::open(dir.0.join("runs.db")).unwrap();
        let snap = snapshot("w");
        futures::executor::block_on(store.save(&snap)).unwrap();
        let back = futures::executor::block_on(store.load(snap.run_id)).unwrap();
        assert_eq!(back, Some(snap));
    }

    #[tokio::test]
    async fn two_handles_on_one_file_see_each_other() {
        let dir = TempDir::new();
        let path = dir.0.join("runs.db");
        let one = EmbeddedStore::open(&path).unwrap();
        let two = EmbeddedStore::open(&path).unwrap();
        let snap = snapshot("w");
        one.save(&snap).await.unwrap();
        assert_eq!(two.load(snap.run_id).await.unwrap(), Some(snap));
    }

    #[tokio::test]
    async fn refuses_other_formats_and_schemas_and_non_databases() {
        let dir = TempDir::new();
        let path = dir.0.join("runs.db");
        let store = EmbeddedStore::open(&path).unwrap();
        let snap = snapshot("w");
        store.save(&snap).await.unwrap();
        {
            let conn = lock(&store.inner.conn);
            conn.execute(
                "UPDATE blazen_snapshots SET snapshot = json_set(snapshot, '$.format_version', 2)",
                [],
            )
            .unwrap();
        }
        let err = store.load(snap.run_id).await.unwrap_err();
        assert!(
            matches!(
                err,
                PersistError::UnsupportedFormat {
                    found: 2,
                    supported: 1
                }
            ),
            "{err:?}"
        );
        {
            let conn = lock(&store.inner.conn);
            conn.execute_batch("PRAGMA user_version = 99;").unwrap();
        }
        drop(store);
        let err = EmbeddedStore::open(&path).unwrap_err();
        assert!(
            matches!(err, PersistError::UnsupportedSchema { found: 99, .. }),
            "{err:?}"
        );

        let junk = dir.0.join("junk.db");
        std::fs::write(
            &junk,
            b"this is not a database, just some text that is long enough",
        )
        .unwrap();
        let err = EmbeddedStore::open(&junk).unwrap_err();
        assert!(matches!(err, PersistError::Backend { .. }), "{err:?}");
        assert!(err.to_string().contains("junk.db"), "{err}");

        let err = EmbeddedStore::open(dir.0.join("no/such/dir/runs.db")).unwrap_err();
        assert!(matches!(err, PersistError::Backend { .. }), "{err:?}");
    }
}
