//! [`RunStore`] on PostgreSQL: leases fenced by epoch, claims with `FOR UPDATE SKIP LOCKED`,
//! the journal, the inbox, the stored stream, and notices through `LISTEN/NOTIFY`.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use super::*;
use crate::persist::error::PersistError;
use crate::persist::journal::JournalEntry;
use crate::persist::ownership::{InboxMessage, Lease, Notice, Notices, RunStatus, RunStore};
use crate::persist::snapshot::{SerializedEvent, WorkflowSnapshot};

#[async_trait]
impl RunStore for PostgresStore {
    async fn create(
        &self,
        snapshot: &WorkflowSnapshot,
        owner: &str,
        lease: Duration,
    ) -> Result<Lease, PersistError> {
        let json = snapshot.to_json()?;
        let version = i32::try_from(snapshot.format_version).unwrap_or(i32::MAX);
        let rows = self
            .query(
                concat!(
                    "INSERT INTO blazen_runs (run_id, workflow, status, format_version, snapshot,
                         owner, lease_until_ms, epoch, updated_at_ms, journal_len)
                     VALUES ($1, $2, $3, $4, $5, $6, ",
                    now_ms!(),
                    " + $7, 1, ",
                    now_ms!(),
                    ", 0)
                     ON CONFLICT (run_id) DO NOTHING RETURNING epoch"
                ),
                &[
                    &snapshot.run_id,
                    &snapshot.workflow,
                    &snapshot.status.as_str(),
                    &version,
                    &json,
                    &owner,
                    &ms(lease),
                ],
            )
            .await?;
        if rows.is_empty() {
            return Err(pg(format!("run {} already exists", snapshot.run_id)));
        }
        Ok(Lease::new(snapshot.run_id, &snapshot.workflow, owner, 1))
    }

    async fn append(&self, lease: &Lease, entry: &JournalEntry) -> Result<u64, PersistError> {
        let row = AppendRow::of(lease, entry)?;
        // Grouped with the appends of other runs into one transaction (see `batch.rs`).
        self.append_grouped(row).await
    }

    async fn compact(
        &self,
        lease: &Lease,
        snapshot: &WorkflowSnapshot,
    ) -> Result<(), PersistError> {
        let json = snapshot.to_json()?;
        let version = i32::try_from(snapshot.format_version).unwrap_or(i32::MAX);
        let finished = snapshot.status.is_finished();
        let rows = self
            .query(
                concat!(
                    "WITH r AS (
                        UPDATE blazen_runs SET snapshot = $4, status = $5, format_version = $6,
                            journal_len = 0, updated_at_ms = ",
                    now_ms!(),
                    ",
                            owner = CASE WHEN $7 THEN NULL ELSE owner END,
                            lease_until_ms = CASE WHEN $7 THEN 0 ELSE lease_until_ms END,
                            wake = wake AND NOT $7,
                            cancel_requested = cancel_requested AND NOT $7
                        WHERE run_id = $1 AND epoch = $2 AND owner = $3
                        RETURNING run_id),
                     d AS (DELETE FROM blazen_journal
                        WHERE run_id = $1 AND EXISTS (SELECT 1 FROM r))
                     SELECT run_id FROM r"
                ),
                &[
                    &lease.run_id,
                    &to_i64(lease.epoch),
                    &lease.owner,
                    &json,
                    &snapshot.status.as_str(),
                    &version,
                    &finished,
                ],
            )
            .await?;
        if rows.is_empty() {
            return Err(fenced(lease));
        }
        if finished {
            self.notify_stream(lease.run_id);
        }
        Ok(())
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
        let ids: Vec<Uuid> = runs.iter().map(|l| l.run_id).collect();
        let epochs: Vec<i64> = runs.iter().map(|l| to_i64(l.epoch)).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // Lock the rows in run id order first, as a group of appends does (`batch.rs`): two
        // transactions that lock several runs never wait for each other in a cycle.
        let lock = tx.prepare_cached(LOCK_RUNS).await.map_err(pg)?;
        tx.query(&lock, &[&ids]).await.map_err(pg)?;
        let update = tx
            .prepare_cached(concat!(
                "UPDATE blazen_runs r SET lease_until_ms = ",
                now_ms!(),
                " + $2
                 FROM unnest($3::uuid[], $4::bigint[]) AS l(id, ep)
                 WHERE r.run_id = l.id AND r.epoch = l.ep AND r.owner = $1
                   AND r.status NOT IN ",
                "('completed', 'failed')",
                " RETURNING r.run_id"
            ))
            .await
            .map_err(pg)?;
        let rows = tx
            .query(&update, &[&owner, &ms(lease), &ids, &epochs])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let held: std::collections::HashSet<Uuid> = rows.iter().map(|r| r.get(0)).collect();
        Ok(ids.into_iter().filter(|id| !held.contains(id)).collect())
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                concat!(
                    "WITH c AS (
                        SELECT run_id FROM blazen_runs
                        WHERE workflow = ANY($2) AND status NOT IN ('completed', 'failed')
                          AND ((owner IS NOT NULL AND lease_until_ms < ",
                    now_ms!(),
                    ")
                               OR (owner IS NULL AND wake))
                        ORDER BY lease_until_ms, run_id
                        LIMIT $4
                        FOR UPDATE SKIP LOCKED)
                     UPDATE blazen_runs r SET owner = $1, lease_until_ms = ",
                    now_ms!(),
                    " + $3,
                         epoch = r.epoch + 1, wake = false
                     FROM c WHERE r.run_id = c.run_id
                     RETURNING r.run_id, r.workflow, r.epoch"
                ),
                &[&owner, &workflows, &ms(lease), &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Lease::new(r.get(0), r.get::<_, String>(1), owner, to_u64(r.get(2))))
            .collect())
    }

    async fn release(&self, lease: &Lease, handover: bool) -> Result<(), PersistError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // Lock the run first: a `post` racing with this release either committed before
        // (the next statement, a new snapshot, sees its message) or waits for this
        // transaction and then sees the run unowned.
        let lock = tx
            .prepare_cached(
                "SELECT 1 FROM blazen_runs WHERE run_id = $1 AND epoch = $2 AND owner = $3
                 FOR UPDATE",
            )
            .await
            .map_err(pg)?;
        let held = tx
            .query_opt(&lock, &[&lease.run_id, &to_i64(lease.epoch), &lease.owner])
            .await
            .map_err(pg)?;
        if held.is_none() {
            return Err(fenced(lease));
        }
        let update = tx
            .prepare_cached(
                "WITH r AS (
                    UPDATE blazen_runs SET owner = NULL, lease_until_ms = 0,
                        wake = $2 OR EXISTS (SELECT 1 FROM blazen_inbox WHERE run_id = $1)
                    WHERE run_id = $1 RETURNING wake),
                 n AS (SELECT pg_notify($3, $4) FROM r WHERE wake)
                 SELECT wake, (SELECT count(*) FROM n) FROM r",
            )
            .await
            .map_err(pg)?;
        tx.query(
            &update,
            &[
                &lease.run_id,
                &handover,
                &self.inner.channel,
                &Self::payload('c', lease.run_id),
            ],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }

    async fn post(&self, run_id: Uuid, message: &InboxMessage) -> Result<(), PersistError> {
        let json = serde_json::to_string(message).map_err(PersistError::Encode)?;
        let cancel = matches!(message, InboxMessage::Cancel);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let lock = tx
            .prepare_cached("SELECT status FROM blazen_runs WHERE run_id = $1 FOR UPDATE")
            .await
            .map_err(pg)?;
        let Some(row) = tx.query_opt(&lock, &[&run_id]).await.map_err(pg)? else {
            return Err(PersistError::RunNotFound { run_id });
        };
        if status_of(row.get(0))?.is_finished() {
            return Err(PersistError::Finished { run_id });
        }
        let insert = tx
            .prepare_cached(
                "WITH i AS (INSERT INTO blazen_inbox (run_id, message) VALUES ($1, $2)),
                      r AS (UPDATE blazen_runs SET wake = wake OR owner IS NULL,
                                cancel_requested = cancel_requested OR $3
                            WHERE run_id = $1 RETURNING owner IS NULL AS unowned),
                      n AS (SELECT pg_notify($4, $5) FROM r),
                      c AS (SELECT pg_notify($4, $6) FROM r WHERE unowned)
                 SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM c)",
            )
            .await
            .map_err(pg)?;
        tx.query(
            &insert,
            &[
                &run_id,
                &json,
                &cancel,
                &self.inner.channel,
                &Self::payload('i', run_id),
                &Self::payload('c', run_id),
            ],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }

    async fn read_inbox(
        &self,
        lease: &Lease,
        after: u64,
    ) -> Result<Vec<(u64, InboxMessage)>, PersistError> {
        let rows = self
            .query(
                "SELECT i.id, i.message FROM blazen_inbox i
                 WHERE i.run_id = $1 AND i.id > $4
                   AND EXISTS (SELECT 1 FROM blazen_runs r
                               WHERE r.run_id = $1 AND r.epoch = $2 AND r.owner = $3)
                 ORDER BY i.id",
                &[
                    &lease.run_id,
                    &to_i64(lease.epoch),
                    &lease.owner,
                    &to_i64(after),
                ],
            )
            .await?;
        if rows.is_empty() && !self.holds(lease).await? {
            return Err(fenced(lease));
        }
        rows.iter()
            .map(|r| {
                let message: String = r.get(1);
                serde_json::from_str(&message)
                    .map(|m| (to_u64(r.get(0)), m))
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
            .query(
                "SELECT position, event FROM blazen_stream
                 WHERE run_id = $1 AND position >= $2 ORDER BY position LIMIT $3",
                &[&run_id, &to_i64(from), &limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let event =
                    serde_json::from_str(r.get::<_, &str>(1)).map_err(PersistError::Decode)?;
                Ok((to_u64(r.get(0)), event))
            })
            .collect()
    }

    async fn status(&self, run_id: Uuid) -> Result<Option<RunStatus>, PersistError> {
        let rows = self
            .query(
                concat!(
                    "SELECT workflow, status,
                        CASE WHEN lease_until_ms >= ",
                    now_ms!(),
                    " THEN owner END,
                        epoch, lease_until_ms, updated_at_ms, cancel_requested
                     FROM blazen_runs WHERE run_id = $1"
                ),
                &[&run_id],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(RunStatus {
            run_id,
            workflow: row.get(0),
            status: status_of(row.get(1))?,
            owner: row.get(2),
            epoch: to_u64(row.get(3)),
            lease_until_ms: to_u64(row.get(4)),
            updated_at_ms: to_u64(row.get(5)),
            cancel_requested: row.get(6),
        }))
    }

    async fn notices(&self) -> Result<Notices, PersistError> {
        let (tx, mut rx) = mpsc::channel::<Notice>(4096);
        let (ready_tx, ready_rx) = oneshot::channel();
        let config = self.inner.config.clone();
        let channel = self.inner.channel.clone();
        tokio::spawn(listen(config, channel, tx, ready_tx));
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(pg("the LISTEN connection ended before it listened")),
        }
        Ok(Box::pin(futures::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
        })))
    }
}

/// Locks the rows of the runs `$1` in run id order (the row locks are taken as the sorted
/// rows come out), for the transactions that write several runs.
pub(super) const LOCK_RUNS: &str =
    "SELECT run_id FROM blazen_runs WHERE run_id = ANY($1) ORDER BY run_id FOR UPDATE";

/// A journal entry encoded for its statement, with its lease.
#[derive(Debug)]
pub(super) struct AppendRow {
    pub(super) lease: Lease,
    pub(super) status: &'static str,
    pub(super) entry: String,
    pub(super) positions: Vec<i64>,
    pub(super) events: Vec<String>,
    /// `-1`: no inbox message to remove.
    pub(super) inbox_through: i64,
    /// Whether readers of the run's stream are to be woken after the commit.
    pub(super) notify: bool,
}

impl AppendRow {
    pub(super) fn of(lease: &Lease, entry: &JournalEntry) -> Result<Self, PersistError> {
        let json = serde_json::to_string(entry).map_err(PersistError::Encode)?;
        let mut positions = Vec::with_capacity(entry.stream.len());
        let mut events = Vec::with_capacity(entry.stream.len());
        for (position, event) in &entry.stream {
            positions.push(to_i64(*position));
            events.push(serde_json::to_string(event).map_err(PersistError::Encode)?);
        }
        Ok(AppendRow {
            lease: lease.clone(),
            status: entry.frame.status.as_str(),
            entry: json,
            positions,
            events,
            inbox_through: entry.inbox_through.map_or(-1, to_i64),
            notify: !entry.stream.is_empty() || entry.frame.status.is_finished(),
        })
    }
}

impl PostgresStore {
    /// Appends one entry in one statement (its own transaction, one round trip): the plain
    /// append, what a group of one is written with (see `batch.rs`). Its stream notice is
    /// sent after the commit (see `notify.rs`).
    pub(super) async fn append_one(&self, row: &AppendRow) -> Result<u64, PersistError> {
        let lease = &row.lease;
        let rows = self
            .query(
                concat!(
                    "WITH r AS (
                        UPDATE blazen_runs SET journal_len = journal_len + 1, status = $4,
                            updated_at_ms = ",
                    now_ms!(),
                    "
                        WHERE run_id = $1 AND epoch = $2 AND owner = $3
                        RETURNING journal_len),
                     j AS (INSERT INTO blazen_journal (run_id, seq, epoch, entry)
                        SELECT $1, journal_len, $2, $5 FROM r),
                     s AS (INSERT INTO blazen_stream (run_id, position, event)
                        SELECT $1, p, e FROM unnest($6::bigint[], $7::text[]) AS t(p, e)
                        WHERE EXISTS (SELECT 1 FROM r)
                        ON CONFLICT DO NOTHING),
                     i AS (DELETE FROM blazen_inbox
                        WHERE run_id = $1 AND id <= $8 AND EXISTS (SELECT 1 FROM r))
                     SELECT journal_len FROM r"
                ),
                &[
                    &lease.run_id,
                    &to_i64(lease.epoch),
                    &lease.owner,
                    &row.status,
                    &row.entry,
                    &row.positions,
                    &row.events,
                    &row.inbox_through,
                ],
            )
            .await?;
        let Some(found) = rows.first() else {
            return Err(fenced(lease));
        };
        if row.notify {
            self.notify_stream(lease.run_id);
        }
        Ok(to_u64(found.get(0)))
    }
}

pub(super) fn fenced(lease: &Lease) -> PersistError {
    PersistError::Fenced {
        run_id: lease.run_id,
        epoch: lease.epoch,
    }
}

/// Parses a notification payload: `i:`, `s:` or `c:` and run ids, comma-separated (stream
/// notices are sent many to a payload, see `notify.rs`). Ids that do not parse are skipped.
pub(super) fn notices_of(payload: &str) -> Vec<Notice> {
    let Some((kind, ids)) = payload.split_once(':') else {
        return Vec::new();
    };
    let notice: fn(Uuid) -> Notice = match kind {
        "i" => Notice::Inbox,
        "s" => Notice::Stream,
        "c" => Notice::Claimable,
        _ => return Vec::new(),
    };
    ids.split(',')
        .filter_map(|id| Uuid::parse_str(id).ok())
        .map(notice)
        .collect()
}

/// Keeps a `LISTEN` connection for `tx` until its receiver is dropped, reconnecting with
/// backoff; `ready` gets the outcome of the first attempt.
async fn listen(
    config: Config,
    channel: String,
    tx: mpsc::Sender<Notice>,
    ready: oneshot::Sender<Result<(), PersistError>>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        let outcome = listen_once(&config, &channel, &tx, &mut ready).await;
        if tx.is_closed() {
            return;
        }
        match outcome {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(e));
                    return;
                }
                tracing::warn!(error = %e, "postgres store: LISTEN connection lost; reconnecting");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = tx.closed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(
    config: &Config,
    channel: &str,
    tx: &mpsc::Sender<Notice>,
    ready: &mut Option<oneshot::Sender<Result<(), PersistError>>>,
) -> Result<(), PersistError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(pg)?;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    let sql = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
    let listen = client.batch_execute(&sql);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            r = &mut listen, if !listening => {
                r.map_err(pg)?;
                listening = true;
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
            }
            m = messages.next() => match m {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    for notice in notices_of(n.payload()) {
                        // Notices are hints: drop one rather than block the connection.
                        let _ = tx.try_send(notice);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(pg(e)),
                None => return Err(pg("connection closed")),
            },
            () = tx.closed() => return Ok(()),
        }
    }
}
