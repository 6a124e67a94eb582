//! [`PostgresStore`]: runs shared by replicas on several machines through PostgreSQL
//! (cargo feature `postgres`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::Host;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls};
use uuid::Uuid;

use super::error::PersistError;
use super::journal::JournalEntry;
use super::ownership::Lease;
use super::snapshot::{SnapshotStatus, WorkflowSnapshot};
use super::store::{CheckpointStore, RunInfo};

/// How long the server lets a transaction of this store sit idle before ending it.
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(2);
/// The schema this build creates and reads (table `blazen_schema_version`).
const SCHEMA_VERSION: i64 = 1;

/// The `store` of every error of this store (never the URL: it may hold a password).
const STORE: &str = "postgres";

/// The database's clock in milliseconds since the Unix epoch: every lease of every replica
/// is measured on one clock.
macro_rules! now_ms {
    () => {
        "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
    };
}

// After `now_ms!`: the run statements use it.
mod batch;
mod notify;
mod runs;

const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS blazen_schema_version (version bigint NOT NULL);
CREATE TABLE IF NOT EXISTS blazen_runs (
    run_id           uuid PRIMARY KEY,
    workflow         text NOT NULL,
    status           text NOT NULL,
    format_version   integer NOT NULL,
    snapshot         text NOT NULL,
    owner            text,
    lease_until_ms   bigint NOT NULL DEFAULT 0,
    epoch            bigint NOT NULL DEFAULT 0,
    wake             boolean NOT NULL DEFAULT false,
    cancel_requested boolean NOT NULL DEFAULT false,
    updated_at_ms    bigint NOT NULL,
    journal_len      bigint NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS blazen_runs_claim ON blazen_runs (workflow, lease_until_ms)
    WHERE status NOT IN ('completed', 'failed');
CREATE INDEX IF NOT EXISTS blazen_runs_updated ON blazen_runs (updated_at_ms);
CREATE TABLE IF NOT EXISTS blazen_journal (
    run_id uuid NOT NULL,
    seq    bigint NOT NULL,
    epoch  bigint NOT NULL,
    entry  text NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS blazen_stream (
    run_id   uuid NOT NULL,
    position bigint NOT NULL,
    event    text NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS blazen_inbox (
    id      bigserial PRIMARY KEY,
    run_id  uuid NOT NULL,
    message text NOT NULL
);
CREATE INDEX IF NOT EXISTS blazen_inbox_run ON blazen_inbox (run_id, id);
";

struct Inner {
    pool: Pool,
    config: Config,
    /// The LISTEN/NOTIFY channel of this store's schema.
    channel: String,
    /// The schema, when one was given.
    schema: Option<String>,
    /// `postgres://user@host:port/db`: the URL without its password.
    display: String,
    /// Stream notices waiting to be sent after their commits.
    notifier: notify::Notifier,
    /// Journal appends waiting to be written, grouped.
    appends: batch::Appends,
}

/// A [`RunStore`](crate::persist::RunStore) on PostgreSQL: replicas on several machines share runs through it.
/// Cheap to clone; clones share one connection pool (`tokio-postgres` + `deadpool-postgres`,
/// no TLS).
///
/// - [`connect`](Self::connect) creates the tables if needed (idempotent, under an advisory
///   lock, the schema version recorded in `blazen_schema_version`);
///   [`connect_with_schema`](Self::connect_with_schema) keeps them in a schema of their own.
/// - Tables: `blazen_runs` (one row per run: snapshot as JSON text, owner, lease expiry and
///   epoch, wake and cancel flags, journal length), `blazen_journal` (the entries since the
///   last compaction), `blazen_stream` (stream events by position) and `blazen_inbox`.
/// - Leases are measured on the database's clock, so replicas' clocks need not agree.
/// - Every method is one transaction (most are one statement): cancelling a call (dropping
///   its future) never leaves half of a write.
/// - Journal appends of different runs that wait at the same moment are written together, in
///   one transaction (group commit); each call returns once its own entry committed, or with
///   its own run's error ([`PersistError::Fenced`] for a run whose lease was lost: the
///   others commit). An append whose future is dropped may still be written with its group.
/// - Stream notices are sent after the commit that wrote the events, many to a
///   notification, outside the writing transaction.
/// - Wake-ups ([`notices`](crate::persist::RunStore::notices)) use `LISTEN`/`NOTIFY` on a dedicated
///   connection, reconnected with backoff when it drops. A notice sent while it was down is
///   lost: consumers also re-check the store periodically.
/// - `Debug` and errors never show the password of the URL.
///
/// ```no_run
/// use blazen::persist::{CheckpointStore, PostgresStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), blazen::persist::PersistError> {
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/test").await?;
/// println!("{store:?} holds {} runs", store.list().await?.len());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.inner.display)
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

fn pg(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> PersistError {
    PersistError::backend(STORE, e)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `postgres://user@host:port/db` of `config`: never the password.
fn redacted(config: &Config) -> String {
    let user = config.get_user().unwrap_or("");
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}@{}/{db}", hosts.join(","))
}

/// Whether `schema` is a plain identifier (letters, digits, `_`; not starting with a digit).
fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() < 64
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`, or the key=value form),
    /// creates the tables if needed in the connection's current schema (`public` unless
    /// the URL's `options` say otherwise) and returns the store.
    ///
    /// Fails with [`PersistError::Backend`] if the database cannot be reached, and with
    /// [`PersistError::UnsupportedSchema`] if a newer build created the tables.
    pub async fn connect(url: &str) -> Result<Self, PersistError> {
        Self::open(url, None).await
    }

    /// Like [`connect`](Self::connect), with the tables in `schema` (created if needed;
    /// every pooled connection gets `search_path = schema`). `schema` is a plain identifier
    /// (ASCII letters, digits and `_`): e.g. one per test, or one per application sharing
    /// a database.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, PersistError> {
        if !valid_schema(schema) {
            return Err(pg(format!(
                "schema name `{schema}` is not a plain identifier (ASCII letters, digits, `_`)"
            )));
        }
        Self::open(url, Some(schema.to_owned())).await
    }

    async fn open(url: &str, schema: Option<String>) -> Result<Self, PersistError> {
        let mut config: Config = url.parse().map_err(pg)?;
        let mut options = config.get_options().unwrap_or_default().to_owned();
        if let Some(schema) = &schema {
            options.push_str(&format!(" -c search_path={schema}"));
        }
        if !options.contains("idle_in_transaction_session_timeout") {
            // None of our transactions waits between statements: one left open is a frozen
            // or cut-off process (SIGSTOP, GC pause, partition). The server ends it, so its
            // row locks do not keep the runs it touched from being claimed.
            options.push_str(&format!(
                " -c idle_in_transaction_session_timeout={}",
                IDLE_IN_TRANSACTION.as_millis()
            ));
        }
        config.options(options.trim());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let display = redacted(&config);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(pg)?;

        let mut client = pool.get().await.map_err(pg)?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('blazen-migrate:' || $1::text))",
            &[&schema.clone().unwrap_or_default()],
        )
        .await
        .map_err(pg)?;
        if let Some(schema) = &schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await
                .map_err(pg)?;
        }
        tx.batch_execute(MIGRATION).await.map_err(pg)?;
        let found: Option<i64> = tx
            .query_one("SELECT max(version) FROM blazen_schema_version", &[])
            .await
            .map_err(pg)?
            .get(0);
        match found {
            None => {
                tx.execute(
                    "INSERT INTO blazen_schema_version (version) VALUES ($1)",
                    &[&SCHEMA_VERSION],
                )
                .await
                .map_err(pg)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(found) => {
                return Err(PersistError::UnsupportedSchema {
                    store: display,
                    found,
                    supported: SCHEMA_VERSION,
                })
            }
        }
        let current: Option<String> = tx
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(pg)?
            .get(0);
        tx.commit().await.map_err(pg)?;
        drop(client);

        let mut channel = format!("blazen_{}", current.unwrap_or_default());
        while channel.len() > 63 {
            channel.pop();
        }
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                config,
                channel,
                schema,
                display,
                notifier: notify::Notifier::default(),
                appends: batch::Appends::default(),
            }),
        })
    }

    /// The schema given to [`connect_with_schema`](Self::connect_with_schema), if any.
    pub fn schema(&self) -> Option<&str> {
        self.inner.schema.as_deref()
    }

    /// A pooled connection (its `search_path` set to the store's schema), e.g. for a
    /// benchmark's baseline or an application's own queries next to the store's.
    pub async fn client(&self) -> Result<Object, PersistError> {
        self.inner.pool.get().await.map_err(pg)
    }

    /// Runs one statement (cached as a prepared statement per connection).
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, PersistError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg)?;
        client.query(&stmt, params).await.map_err(pg)
    }

    /// Whether `lease` still holds.
    async fn holds(&self, lease: &Lease) -> Result<bool, PersistError> {
        let rows = self
            .query(
                "SELECT 1 FROM blazen_runs WHERE run_id = $1 AND epoch = $2 AND owner = $3",
                &[&lease.run_id, &to_i64(lease.epoch), &lease.owner],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// The notification payload `kind:run_id`.
    fn payload(kind: char, run_id: Uuid) -> String {
        format!("{kind}:{run_id}")
    }
}

fn status_of(s: &str) -> Result<SnapshotStatus, PersistError> {
    SnapshotStatus::parse(s).ok_or_else(|| pg(format!("unknown run status `{s}`")))
}

#[async_trait]
impl CheckpointStore for PostgresStore {
    async fn save(&self, snapshot: &WorkflowSnapshot) -> Result<(), PersistError> {
        let json = snapshot.to_json()?;
        let version = i32::try_from(snapshot.format_version).unwrap_or(i32::MAX);
        self.query(
            concat!(
                "WITH r AS (
                    INSERT INTO blazen_runs
                        (run_id, workflow, status, format_version, snapshot, updated_at_ms)
                    VALUES ($1, $2, $3, $4, $5, ",
                now_ms!(),
                ")
                    ON CONFLICT (run_id) DO UPDATE SET
                        workflow = excluded.workflow, status = excluded.status,
                        format_version = excluded.format_version, snapshot = excluded.snapshot,
                        updated_at_ms = excluded.updated_at_ms, journal_len = 0
                    RETURNING run_id),
                 d AS (DELETE FROM blazen_journal WHERE run_id = $1)
                 SELECT run_id FROM r"
            ),
            &[
                &snapshot.run_id,
                &snapshot.workflow,
                &snapshot.status.as_str(),
                &version,
                &json,
            ],
        )
        .await?;
        Ok(())
    }

    async fn load(&self, run_id: Uuid) -> Result<Option<WorkflowSnapshot>, PersistError> {
        let rows = self
            .query(
                "SELECT snapshot,
                        ARRAY(SELECT entry FROM blazen_journal WHERE run_id = $1 ORDER BY seq)
                 FROM blazen_runs WHERE run_id = $1",
                &[&run_id],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let mut snapshot = WorkflowSnapshot::from_json(row.get::<_, &str>(0))?;
        for entry in row.get::<_, Vec<&str>>(1) {
            let entry: JournalEntry = serde_json::from_str(entry).map_err(PersistError::Decode)?;
            entry.apply(&mut snapshot);
        }
        Ok(Some(snapshot))
    }

    async fn list(&self) -> Result<Vec<RunInfo>, PersistError> {
        let rows = self
            .query(
                "SELECT run_id, workflow, status, updated_at_ms FROM blazen_runs
                 ORDER BY updated_at_ms DESC, run_id",
                &[],
            )
            .await?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows {
            let run_id: Uuid = row.get(0);
            let status: &str = row.get(2);
            let Some(status) = SnapshotStatus::parse(status) else {
                tracing::warn!(%run_id, status, "postgres store: skipping a run with an unknown status");
                continue;
            };
            runs.push(RunInfo::new(
                run_id,
                row.get::<_, String>(1),
                status,
                to_u64(row.get(3)),
            ));
        }
        Ok(runs)
    }

    async fn delete(&self, run_id: Uuid) -> Result<bool, PersistError> {
        let rows = self
            .query(
                "WITH j AS (DELETE FROM blazen_journal WHERE run_id = $1),
                      s AS (DELETE FROM blazen_stream WHERE run_id = $1),
                      i AS (DELETE FROM blazen_inbox WHERE run_id = $1)
                 DELETE FROM blazen_runs WHERE run_id = $1 RETURNING run_id",
                &[&run_id],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::runs::notices_of;
    use super::*;
    use crate::persist::ownership::Notice;

    #[test]
    fn debug_and_urls_never_show_the_password() {
        let config: Config = "postgres://alice:s3cret@db.example:5433/app"
            .parse()
            .unwrap();
        let shown = redacted(&config);
        assert_eq!(shown, "postgres://alice@db.example:5433/app");
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn payloads_round_trip() {
        let id = Uuid::new_v4();
        assert_eq!(
            notices_of(&PostgresStore::payload('i', id)),
            vec![Notice::Inbox(id)]
        );
        assert_eq!(
            notices_of(&PostgresStore::payload('s', id)),
            vec![Notice::Stream(id)]
        );
        assert_eq!(
            notices_of(&PostgresStore::payload('c', id)),
            vec![Notice::Claimable(id)]
        );
        assert_eq!(notices_of("x:y"), vec![]);
        assert_eq!(notices_of("s:nope"), vec![]);
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("blazen_test_1"));
        assert!(!valid_schema("a; DROP TABLE x"));
        assert!(!valid_schema("1abc"));
        assert!(!valid_schema(""));
    }
}
