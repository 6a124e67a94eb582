//! [`RunStore`] for [`EmbeddedStore`]: leases, journal, inbox and stream in the SQLite file;
//! wake-ups polled from a notice log.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{connection, lock, put_snapshot, to_i64, EmbeddedStore};
use crate::persist::error::PersistError;
use crate::persist::journal::JournalEntry;
use crate::persist::ownership::{InboxMessage, Lease, Notice, Notices, RunStatus, RunStore};
use crate::persist::snapshot::{now_ms, SerializedEvent, SnapshotStatus, WorkflowSnapshot};

/// How often [`RunStore::notices`] looks for new notices.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// How many notices the log keeps (older ones are pruned as new ones are written; a
/// reader further behind misses some, which notices allow: they are hints).
const NOTICES_KEPT: i64 = 10_000;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn fenced(lease: &Lease) -> PersistError {
    PersistError::Fenced {
        run_id: lease.run_id,
        epoch: lease.epoch,
    }
}

/// Records a notice (`i`nbox, `s`tream, `c`laimable) for pollers, in the writer's
/// transaction: it is seen exactly when the write is.
fn notify(tx: &Transaction<'_>, run_id: &str, kind: &str) -> rusqlite::Result<()> {
    tx.prepare("INSERT INTO blazen_notices (run_id, kind) VALUES (?1, ?2)")?
        .execute(params![run_id, kind])?;
    let id = tx.last_insert_rowid();
    tx.prepare("DELETE FROM blazen_notices WHERE id <= ?1")?
        .execute(params![id - NOTICES_KEPT])?;
    Ok(())
}

/// Whether `lease` still holds the run (its epoch and owner).
fn holds(conn: &Connection, lease: &Lease) -> rusqlite::Result<bool> {
    conn.prepare("SELECT 1 FROM blazen_runs WHERE run_id = ?1 AND epoch = ?2 AND owner = ?3")?
        .query_row(
            params![lease.run_id.to_string(), to_i64(lease.epoch), lease.owner],
            |_| Ok(()),
        )
        .optional()
        .map(|r| r.is_some())
}

#[async_trait]
impl RunStore for EmbeddedStore {
    async fn create(
        &self,
        snapshot: &WorkflowSnapshot,
        owner: &str,
        lease: Duration,
    ) -> Result<Lease, PersistError> {
        let json = snapshot.to_json()?;
        let run_id = snapshot.run_id;
        let workflow = snapshot.workflow.clone();
        let status = snapshot.status.as_str();
        let version = i64::from(snapshot.format_version);
        let owner = owner.to_owned();
        let lease_ms = ms(lease);
        self.write(move |tx, store| {
            let now = to_i64(now_ms());
            let n = tx
                .prepare(
                    "INSERT INTO blazen_runs (run_id, workflow, status, format_version,
                         updated_at_ms, snapshot, owner, lease_until_ms, epoch, journal_len)
                     VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, 1, 0)
                     ON CONFLICT (run_id) DO NOTHING",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        run_id.to_string(),
                        workflow,
                        status,
                        version,
                        now,
                        owner,
                        now.saturating_add(lease_ms)
                    ])
                })
                .map_err(|e| PersistError::backend(store, e))?;
            if n == 0 {
                return Err(PersistError::backend(
                    store,
                    format!("run {run_id} already exists"),
                ));
            }
            put_snapshot(tx, &run_id.to_string(), &json)
                .map_err(|e| PersistError::backend(store, e))?;
            Ok(Lease::new(run_id, workflow, owner, 1))
        })
        .await
    }

    async fn append(&self, lease: &Lease, entry: &JournalEntry) -> Result<u64, PersistError> {
        let json = serde_json::to_string(entry).map_err(PersistError::Encode)?;
        let mut stream = Vec::with_capacity(entry.stream.len());
        for (position, event) in &entry.stream {
            stream.push((
                to_i64(*position),
                serde_json::to_string(event).map_err(PersistError::Encode)?,
            ));
        }
        let notice = !stream.is_empty() || entry.frame.status.is_finished();
        let status = entry.frame.status.as_str();
        let inbox_through = entry.inbox_through;
        let lease = lease.clone();
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let id = lease.run_id.to_string();
            let len: Option<i64> = tx
                .prepare(
                    "UPDATE blazen_runs SET journal_len = journal_len + 1, status = ?4,
                         updated_at_ms = ?5
                     WHERE run_id = ?1 AND epoch = ?2 AND owner = ?3
                     RETURNING journal_len",
                )
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            id,
                            to_i64(lease.epoch),
                            lease.owner,
                            status,
                            to_i64(now_ms())
                        ],
                        |row| row.get(0),
                    )
                    .optional()
                })
                .map_err(err)?;
            let Some(len) = len else {
                return Err(fenced(&lease));
            };
            tx.prepare(
                "INSERT INTO blazen_journal (run_id, seq, epoch, entry) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![id, len, to_i64(lease.epoch), json]))
            .map_err(err)?;
            if let Some(through) = inbox_through {
                tx.prepare("DELETE FROM blazen_inbox WHERE run_id = ?1 AND id <= ?2")
                    .and_then(|mut s| s.execute(params![id, to_i64(through)]))
                    .map_err(err)?;
            }
            if !stream.is_empty() {
                let mut insert = tx
                    .prepare(
                        "INSERT OR IGNORE INTO blazen_stream (run_id, position, event)
                         VALUES (?1, ?2, ?3)",
                    )
                    .map_err(err)?;
                for (position, event) in &stream {
                    insert.execute(params![id, position, event]).map_err(err)?;
                }
            }
            if notice {
                notify(tx, &id, "s").map_err(err)?;
            }
            Ok(to_u64(len))
        })
        .await
    }

    async fn compact(
        &self,
        lease: &Lease,
        snapshot: &WorkflowSnapshot,
    ) -> Result<(), PersistError> {
        let json = snapshot.to_json()?;
        let status = snapshot.status.as_str();
        let version = i64::from(snapshot.format_version);
        let finished = snapshot.status.is_finished();
        let lease = lease.clone();
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let id = lease.run_id.to_string();
            let n = tx
                .prepare(
                    "UPDATE blazen_runs SET status = ?4, format_version = ?5,
                         journal_len = 0, updated_at_ms = ?6,
                         owner = CASE WHEN ?7 THEN NULL ELSE owner END,
                         lease_until_ms = CASE WHEN ?7 THEN 0 ELSE lease_until_ms END,
                         wake = wake AND NOT ?7,
                         cancel_requested = cancel_requested AND NOT ?7
                     WHERE run_id = ?1 AND epoch = ?2 AND owner = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        id,
                        to_i64(lease.epoch),
                        lease.owner,
                        status,
                        version,
                        to_i64(now_ms()),
                        finished
                    ])
                })
                .map_err(err)?;
            if n == 0 {
                return Err(fenced(&lease));
            }
            put_snapshot(tx, &id, &json).map_err(err)?;
            tx.prepare("DELETE FROM blazen_journal WHERE run_id = ?1")
                .and_then(|mut s| s.execute(params![id]))
                .map_err(err)?;
            if finished {
                notify(tx, &id, "s").map_err(err)?;
            }
            Ok(())
        })
        .await
    }

    async fn renew(
        &self,
        owner: &str,
        runs: &[Lease],
        lease: Duration,
    ) -> Result<Vec<Uuid>, PersistError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let owner = owner.to_owned();
        let runs = runs.to_vec();
        let lease_ms = ms(lease);
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let until = to_i64(now_ms()).saturating_add(lease_ms);
            let mut stmt = tx
                .prepare(
                    "UPDATE blazen_runs SET lease_until_ms = ?4
                     WHERE run_id = ?1 AND epoch = ?2 AND owner = ?3
                       AND status NOT IN ('completed', 'failed')",
                )
                .map_err(err)?;
            let mut lost = Vec::new();
            for l in &runs {
                let n = stmt
                    .execute(params![l.run_id.to_string(), to_i64(l.epoch), owner, until])
                    .map_err(err)?;
                if n == 0 {
                    lost.push(l.run_id);
                }
            }
            Ok(lost)
        })
        .await
    }

    async fn claim(
        &self,
        owner: &str,
        workflows: &[String],
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Lease>, PersistError> {
        if workflows.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let owner = owner.to_owned();
        let workflows: HashSet<String> = workflows.iter().cloned().collect();
        let lease_ms = ms(lease);
        // BEGIN IMMEDIATE: the write lock is held from the select to the commit, so no
        // other process (or handle) claims the same runs in between.
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let now = to_i64(now_ms());
            let mut found = Vec::new();
            {
                let mut stmt = tx
                    .prepare(
                        "SELECT run_id, workflow, epoch FROM blazen_runs
                         WHERE status NOT IN ('completed', 'failed')
                           AND ((owner IS NOT NULL AND lease_until_ms < ?1)
                                OR (owner IS NULL AND wake))
                         ORDER BY lease_until_ms, run_id",
                    )
                    .map_err(err)?;
                let rows = stmt
                    .query_map(params![now], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(err)?;
                for row in rows {
                    let (id, workflow, epoch) = row.map_err(err)?;
                    if !workflows.contains(&workflow) {
                        continue;
                    }
                    let Ok(run_id) = Uuid::parse_str(&id) else {
                        continue;
                    };
                    found.push((id, run_id, workflow, epoch));
                    if found.len() == limit {
                        break;
                    }
                }
            }
            let mut update = tx
                .prepare(
                    "UPDATE blazen_runs SET owner = ?2, lease_until_ms = ?3, epoch = ?4,
                         wake = 0
                     WHERE run_id = ?1",
                )
                .map_err(err)?;
            let mut leases = Vec::with_capacity(found.len());
            for (id, run_id, workflow, epoch) in found {
                let epoch = epoch.saturating_add(1);
                update
                    .execute(params![id, owner, now.saturating_add(lease_ms), epoch])
                    .map_err(err)?;
                leases.push(Lease::new(run_id, workflow, owner.clone(), to_u64(epoch)));
            }
            Ok(leases)
        })
        .await
    }

    async fn release(&self, lease: &Lease, handover: bool) -> Result<(), PersistError> {
        let lease = lease.clone();
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            if !holds(tx, &lease).map_err(err)? {
                return Err(fenced(&lease));
            }
            let id = lease.run_id.to_string();
            let wake: bool = tx
                .prepare(
                    "UPDATE blazen_runs SET owner = NULL, lease_until_ms = 0,
                         wake = ?2 OR EXISTS (SELECT 1 FROM blazen_inbox WHERE run_id = ?1)
                     WHERE run_id = ?1 RETURNING wake",
                )
                .and_then(|mut s| s.query_row(params![id, handover], |row| row.get(0)))
                .map_err(err)?;
            if wake {
                notify(tx, &id, "c").map_err(err)?;
            }
            Ok(())
        })
        .await
    }

    async fn post(&self, run_id: Uuid, message: &InboxMessage) -> Result<(), PersistError> {
        let json = serde_json::to_string(message).map_err(PersistError::Encode)?;
        let cancel = matches!(message, InboxMessage::Cancel);
        self.write(move |tx, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let id = run_id.to_string();
            let row: Option<(String, bool)> = tx
                .prepare("SELECT status, owner IS NULL FROM blazen_runs WHERE run_id = ?1")
                .and_then(|mut s| {
                    s.query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .map_err(err)?;
            let Some((status, unowned)) = row else {
                return Err(PersistError::RunNotFound { run_id });
            };
            if SnapshotStatus::parse(&status).is_some_and(SnapshotStatus::is_finished) {
                return Err(PersistError::Finished { run_id });
            }
            tx.prepare("INSERT INTO blazen_inbox (run_id, message) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![id, json]))
                .map_err(err)?;
            tx.prepare(
                "UPDATE blazen_runs SET wake = wake OR owner IS NULL,
                     cancel_requested = cancel_requested OR ?2
                 WHERE run_id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, cancel]))
            .map_err(err)?;
            notify(tx, &id, "i").map_err(err)?;
            if unowned {
                notify(tx, &id, "c").map_err(err)?;
            }
            Ok(())
        })
        .await
    }

    async fn read_inbox(
        &self,
        lease: &Lease,
        after: u64,
    ) -> Result<Vec<(u64, InboxMessage)>, PersistError> {
        let lease = lease.clone();
        let rows = self
            .with_conn(move |conn, store| {
                let err = |e: rusqlite::Error| PersistError::backend(store, e);
                if !holds(&*conn, &lease).map_err(err)? {
                    return Err(fenced(&lease));
                }
                let mut stmt = conn
                    .prepare(
                        "SELECT id, message FROM blazen_inbox WHERE run_id = ?1 AND id > ?2
                         ORDER BY id",
                    )
                    .map_err(err)?;
                stmt.query_map(params![lease.run_id.to_string(), to_i64(after)], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err)
            })
            .await?;
        rows.iter()
            .map(|(id, m)| {
                serde_json::from_str(m)
                    .map(|m| (to_u64(*id), m))
                    .map_err(PersistError::Decode)
            })
            .collect()
    }

    async fn read_stream(
        &self,
        run_id: Uuid,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, SerializedEvent)>, PersistError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .with_conn(move |conn, store| {
                let err = |e: rusqlite::Error| PersistError::backend(store, e);
                let mut stmt = conn
                    .prepare(
                        "SELECT position, event FROM blazen_stream
                         WHERE run_id = ?1 AND position >= ?2 ORDER BY position LIMIT ?3",
                    )
                    .map_err(err)?;
                let rows = stmt
                    .query_map(params![run_id.to_string(), to_i64(from), limit], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                    })
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(err)?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(p, e)| {
                let event = serde_json::from_str(&e).map_err(PersistError::Decode)?;
                Ok((to_u64(p), event))
            })
            .collect()
    }

    async fn status(&self, run_id: Uuid) -> Result<Option<RunStatus>, PersistError> {
        self.with_conn(move |conn, store| {
            let err = |e: rusqlite::Error| PersistError::backend(store, e);
            let row = conn
                .prepare(
                    "SELECT workflow, status, owner, epoch, lease_until_ms, updated_at_ms,
                         cancel_requested
                     FROM blazen_runs WHERE run_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row(params![run_id.to_string()], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Option<String>>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, i64>(4)?,
                            row.get::<_, i64>(5)?,
                            row.get::<_, bool>(6)?,
                        ))
                    })
                    .optional()
                })
                .map_err(err)?;
            let Some((workflow, status, owner, epoch, until, updated, cancel)) = row else {
                return Ok(None);
            };
            let status = SnapshotStatus::parse(&status).ok_or_else(|| {
                PersistError::backend(store, format!("run {run_id} has unknown status `{status}`"))
            })?;
            let lease_until_ms = to_u64(until);
            Ok(Some(RunStatus {
                run_id,
                workflow,
                status,
                owner: owner.filter(|_| lease_until_ms >= now_ms()),
                epoch: to_u64(epoch),
                lease_until_ms,
                updated_at_ms: to_u64(updated),
                cancel_requested: cancel,
            }))
        })
        .await
    }

    async fn notices(&self) -> Result<Notices, PersistError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            PersistError::backend(
                self.path().display().to_string(),
                "notices need a Tokio runtime (they are polled by a task)",
            )
        })?;
        let path = self.path().to_path_buf();
        // A connection of its own: polling never waits for the store's writes.
        let (conn, last) = self
            .with_conn(move |_, store| {
                let conn = connection(&path, store)?;
                let last: i64 = conn
                    .query_row("SELECT coalesce(max(id), 0) FROM blazen_notices", [], |r| {
                        r.get(0)
                    })
                    .map_err(|e| PersistError::backend(store, e))?;
                Ok((conn, last))
            })
            .await?;
        let store = self.path().display().to_string();
        let conn = Arc::new(Mutex::new(conn));
        let (tx, mut rx) = mpsc::channel::<Notice>(1024);
        handle.spawn(poll_notices(conn, store, last, tx));
        Ok(Box::pin(futures::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
        })))
    }
}

/// Polls the notice log every [`POLL_EVERY`] until the receiver of `tx` is dropped.
async fn poll_notices(
    conn: Arc<Mutex<Connection>>,
    store: String,
    mut last: i64,
    tx: mpsc::Sender<Notice>,
) {
    let mut warned = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL_EVERY) => {}
            () = tx.closed() => return,
        }
        let conn = Arc::clone(&conn);
        let from = last;
        let polled = tokio::task::spawn_blocking(move || {
            let conn = lock(&conn);
            let mut stmt = conn.prepare(
                "SELECT id, run_id, kind FROM blazen_notices WHERE id > ?1 ORDER BY id LIMIT 1000",
            )?;
            let rows = stmt.query_map(params![from], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await;
        let rows = match polled {
            Ok(Ok(rows)) => {
                warned = false;
                rows
            }
            Ok(Err(e)) => {
                if !warned {
                    tracing::warn!(store, error = %e, "embedded store: polling notices failed");
                    warned = true;
                }
                continue;
            }
            Err(_) => return,
        };
        for (id, run_id, kind) in rows {
            last = id;
            let Ok(run_id) = Uuid::parse_str(&run_id) else {
                continue;
            };
            let notice = match kind.as_str() {
                "i" => Notice::Inbox(run_id),
                "s" => Notice::Stream(run_id),
                "c" => Notice::Claimable(run_id),
                _ => continue,
            };
            // Notices are hints: drop one rather than wait for a slow consumer.
            let _ = tx.try_send(notice);
        }
    }
}
