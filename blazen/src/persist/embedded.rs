//! [`EmbeddedStore`]: the default durable checkpoint store, a SQLite file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::error::PersistError;
use super::snapshot::{now_ms, SnapshotStatus, WorkflowSnapshot};
use super::store::{CheckpointStore, RunInfo};

/// The schema this build creates and reads (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// How long an operation waits for another process holding the database's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
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

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// The default durable [`CheckpointStore`]: one SQLite database file (bundled SQLite, no
/// system library needed). Cheap to clone; clones share one connection.
///
/// - Every [`save`](CheckpointStore::save) is one transaction committed with the write-ahead
///   log and `synchronous = FULL`: once it returns, the snapshot survives SIGKILL and power
///   loss, and a crash during a save leaves the previous snapshot intact.
/// - Several processes may open the same file (SQLite's locking; writers wait up to 10 s).
/// - Blocking database calls run on Tokio's blocking threads
///   ([`spawn_blocking`](tokio::task::spawn_blocking)); outside a Tokio runtime they run
///   on the calling thread.
/// - The table `blazen_runs` (`run_id`, `workflow`, `status`, `format_version`,
///   `updated_at_ms`, `snapshot` as JSON text) can be inspected with the `sqlite3` tool.
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

impl EmbeddedStore {
    /// Opens the store at `path`, creating the file and its table if needed.
    ///
    /// Fails with [`PersistError::Backend`] if the file cannot be opened or is not a SQLite
    /// database, and with [`PersistError::UnsupportedSchema`] if a newer build wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let path = path.as_ref().to_path_buf();
        let store = path.display().to_string();
        let err = |e: rusqlite::Error| PersistError::backend(store.clone(), e);

        let mut conn = Connection::open(&path).map_err(err)?;
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

        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(err)?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA).map_err(err)?;
                tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
                    .map_err(err)?;
            }
            SCHEMA_VERSION => {}
            found => {
                return Err(PersistError::UnsupportedSchema {
                    store,
                    found,
                    supported: SCHEMA_VERSION,
                })
            }
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
        F: FnOnce(&Connection, &str) -> Result<T, PersistError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let job = move || {
            let conn = lock(&inner.conn);
            f(&conn, &inner.path.display().to_string())
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(job)
                .await
                .map_err(|e| PersistError::Interrupted(e.to_string()))?,
            Err(_) => job(),
        }
    }
}

// Every operation is a single statement (its own transaction): a panic while holding the
// lock leaves no transaction open, so a poisoned connection is still usable.
use crate::sync::lock;

fn to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[async_trait]
impl CheckpointStore for EmbeddedStore {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        let json = snapshot.to_json()?;
        let run_id = snapshot.run_id.to_string();
        let workflow = snapshot.workflow.clone();
        let status = snapshot.status.as_str();
        let version = i64::from(snapshot.format_version);
        self.with_conn(move |conn, store| {
            conn.execute(
                "INSERT INTO blazen_runs
                     (run_id, workflow, status, format_version, updated_at_ms, snapshot)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (run_id) DO UPDATE SET
                     workflow = excluded.workflow,
                     status = excluded.status,
                     format_version = excluded.format_version,
                     updated_at_ms = excluded.updated_at_ms,
                     snapshot = excluded.snapshot",
                params![run_id, workflow, status, version, to_i64(now_ms()), json],
            )
            .map_err(|e| PersistError::backend(store, e))?;
            Ok(())
        })
        .await
    }

    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        self.with_conn(move |conn, store| {
            let json: Option<String> = conn
                .query_row(
                    "SELECT snapshot FROM blazen_runs WHERE run_id = ?1",
                    params![run_id.to_string()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| PersistError::backend(store, e))?;
            json.map(|json| WorkflowSnapshot::from_json(&json))
                .transpose()
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
                let run_id = Uuid::parse_str(&run_id).map_err(|e| {
                    PersistError::backend(store, format!("invalid run id `{run_id}`: {e}"))
                })?;
                let status = SnapshotStatus::parse(&status).ok_or_else(|| {
                    PersistError::backend(
                        store,
                        format!("run {run_id} has unknown status `{status}`"),
                    )
                })?;
                runs.push(RunInfo::new(
                    run_id,
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
        self.with_conn(move |conn, store| {
            let n = conn
                .execute(
                    "DELETE FROM blazen_runs WHERE run_id = ?1",
                    params![run_id.to_string()],
                )
                .map_err(|e| PersistError::backend(store, e))?;
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
                "UPDATE blazen_runs SET snapshot = json_set(snapshot, '$.format_version', 2)",
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
