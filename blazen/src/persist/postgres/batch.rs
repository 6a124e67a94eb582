//! Group commit of journal appends: code made less plain for speed (house rule 15).
//!
//! Every step completion of an owned run is one journal append, and the run's router awaits
//! it (nothing is acknowledged before it is durable). Written one statement each, a worker
//! with many busy runs spends a pooled connection, a statement and a commit on every step.
//! Here the appends waiting at the same moment, of different runs, are written by one
//! statement in one transaction; each caller still awaits its own entry's commit.
//!
//! Pays for itself in `cargo bench --bench replicas` (throughput, 3 worker processes; see
//! BENCHMARKS.md, "Runs shared by replicas"). The plain version is
//! [`PostgresStore::append_one`]: a group of one is written with it, a group whose statement
//! failed is written again entry by entry with it (so one bad entry fails only its run), and
//! the test in this file checks that both write the same journals, streams and inboxes.
//!
//! What a group keeps of the plain append:
//! - **Fencing per run, in the write's transaction:** the statement updates each run's row
//!   only where the entry's epoch and owner still hold, and writes the journal, stream and
//!   inbox rows of the runs it updated only. A fenced run's entry writes nothing and its
//!   caller gets [`PersistError::Fenced`]; the other runs' entries commit.
//! - **Order per run:** a run has at most one entry in the groups being written (its next
//!   one waits for the group of the previous one to commit), so its entries commit in the
//!   order they were appended.
//! - **No deadlocks with other writers of several runs:** the transaction locks its runs'
//!   rows in run id order first ([`LOCK_RUNS`]), as `renew` does.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::runs::{fenced, AppendRow, LOCK_RUNS};
use super::{pg, to_i64, to_u64, PostgresStore};
use crate::persist::error::PersistError;
use crate::sync::lock;

/// Groups written at once by one store (each on its own pooled connection).
const WRITERS: usize = 4;
/// The most entries in one group.
const GROUP_MAX: usize = 256;

/// The appends waiting to be written, and the runs whose entries are being written.
#[derive(Debug, Default)]
pub(super) struct Appends {
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    /// Runs with an entry in a group being written.
    busy: HashSet<Uuid>,
    /// Tasks writing groups.
    writers: usize,
}

#[derive(Debug)]
struct Waiting {
    row: AppendRow,
    done: oneshot::Sender<Result<u64, PersistError>>,
}

impl Queue {
    /// The next group: the oldest waiting entry of each run not being written, at most
    /// [`GROUP_MAX`]; their runs become busy.
    fn take(&mut self) -> Vec<Waiting> {
        let mut group = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(w) = self.waiting.pop_front() {
            if group.len() < GROUP_MAX && self.busy.insert(w.row.lease.run_id) {
                group.push(w);
            } else {
                kept.push_back(w);
            }
        }
        self.waiting = kept;
        group
    }
}

/// A writer task's hold on its place and on its group's runs, given back if the task is
/// dropped mid-group (its runtime shut down); the callers of that group get an error.
struct Writing<'a> {
    appends: &'a Appends,
    runs: Vec<Uuid>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut queue = lock(&self.appends.queue);
        queue.writers -= 1;
        for run_id in &self.runs {
            queue.busy.remove(run_id);
        }
    }
}

impl PostgresStore {
    /// Appends `row` with the other appends waiting now; returns once its group committed
    /// (see the [module docs](self)).
    pub(super) async fn append_grouped(&self, row: AppendRow) -> Result<u64, PersistError> {
        let run_id = row.lease.run_id;
        let (done, outcome) = oneshot::channel();
        let start = {
            let mut queue = lock(&self.inner.appends.queue);
            queue.waiting.push_back(Waiting { row, done });
            let start = queue.writers < WRITERS;
            if start {
                queue.writers += 1;
            }
            start
        };
        if start {
            let store = self.clone();
            tokio::spawn(async move { store.write_groups().await });
        }
        outcome.await.unwrap_or_else(|_| {
            Err(pg(format!(
                "the append of run {run_id} was dropped with its writer; it may have committed"
            )))
        })
    }

    /// Writes groups until no entry can be taken.
    async fn write_groups(&self) {
        let mut writing = Writing {
            appends: &self.inner.appends,
            runs: Vec::new(),
        };
        loop {
            let group = {
                let mut queue = lock(&self.inner.appends.queue);
                for run_id in writing.runs.drain(..) {
                    queue.busy.remove(&run_id);
                }
                let group = queue.take();
                if group.is_empty() {
                    // Under the lock: an append queued after this starts a writer.
                    queue.writers -= 1;
                    drop(queue);
                    std::mem::forget(writing);
                    return;
                }
                group
            };
            writing.runs = group.iter().map(|w| w.row.lease.run_id).collect();
            let rows: Vec<&AppendRow> = group.iter().map(|w| &w.row).collect();
            let outcomes = self.write_group(&rows).await;
            for (w, outcome) in group.into_iter().zip(outcomes) {
                let _ = w.done.send(outcome);
            }
        }
    }

    /// Writes `rows`: the outcome of each, in order.
    async fn write_group(&self, rows: &[&AppendRow]) -> Vec<Result<u64, PersistError>> {
        let mut runs = HashSet::with_capacity(rows.len());
        // Two entries of one run in one statement would update its row once: never group them.
        let distinct = rows.iter().all(|row| runs.insert(row.lease.run_id));
        if rows.len() > 1 && distinct {
            match self.append_many(rows).await {
                Ok(outcomes) => return outcomes,
                // Nothing of the group committed: write each entry alone, so that whatever
                // failed fails its own run only.
                Err(err) => tracing::debug!(
                    "postgres store: a group of {} appends failed ({err}); writing them one by one",
                    rows.len()
                ),
            }
        }
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            outcomes.push(self.append_one(row).await);
        }
        outcomes
    }

    /// One transaction: lock the runs in order, then one statement that appends each entry
    /// whose lease holds. `rows` are of distinct runs. `Err`: the transaction failed
    /// (nothing committed).
    async fn append_many(
        &self,
        rows: &[&AppendRow],
    ) -> Result<Vec<Result<u64, PersistError>>, PersistError> {
        let mut ids = Vec::with_capacity(rows.len());
        let mut epochs = Vec::with_capacity(rows.len());
        let mut owners = Vec::with_capacity(rows.len());
        let mut statuses = Vec::with_capacity(rows.len());
        let mut entries = Vec::with_capacity(rows.len());
        let mut inbox = Vec::with_capacity(rows.len());
        let (mut stream_runs, mut positions, mut events) = (Vec::new(), Vec::new(), Vec::new());
        for row in rows {
            ids.push(row.lease.run_id);
            epochs.push(to_i64(row.lease.epoch));
            owners.push(row.lease.owner.as_str());
            statuses.push(row.status);
            entries.push(row.entry.as_str());
            inbox.push(row.inbox_through);
            for (position, event) in row.positions.iter().zip(&row.events) {
                stream_runs.push(row.lease.run_id);
                positions.push(*position);
                events.push(event.as_str());
            }
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let lock_runs = tx.prepare_cached(LOCK_RUNS).await.map_err(pg)?;
        tx.query(&lock_runs, &[&ids]).await.map_err(pg)?;
        let append = tx
            .prepare_cached(concat!(
                "WITH b AS (
                    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[],
                                         $5::text[], $6::bigint[])
                        AS b(run_id, epoch, owner, status, entry, inbox_through)),
                 r AS (
                    UPDATE blazen_runs r SET journal_len = r.journal_len + 1, status = b.status,
                        updated_at_ms = ",
                now_ms!(),
                "
                    FROM b
                    WHERE r.run_id = b.run_id AND r.epoch = b.epoch AND r.owner = b.owner
                    RETURNING r.run_id, r.journal_len, b.epoch, b.entry, b.inbox_through),
                 j AS (INSERT INTO blazen_journal (run_id, seq, epoch, entry)
                    SELECT run_id, journal_len, epoch, entry FROM r),
                 s AS (INSERT INTO blazen_stream (run_id, position, event)
                    SELECT t.run_id, t.p, t.e
                    FROM unnest($7::uuid[], $8::bigint[], $9::text[]) AS t(run_id, p, e)
                    WHERE t.run_id IN (SELECT run_id FROM r)
                    ON CONFLICT DO NOTHING),
                 i AS (DELETE FROM blazen_inbox i USING r
                    WHERE i.run_id = r.run_id AND i.id <= r.inbox_through)
                 SELECT run_id, journal_len FROM r"
            ))
            .await
            .map_err(pg)?;
        let written = tx
            .query(
                &append,
                &[
                    &ids,
                    &epochs,
                    &owners,
                    &statuses,
                    &entries,
                    &inbox,
                    &stream_runs,
                    &positions,
                    &events,
                ],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let lengths: std::collections::HashMap<Uuid, i64> =
            written.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(rows
            .iter()
            .map(|row| match lengths.get(&row.lease.run_id) {
                Some(len) => {
                    if row.notify {
                        self.notify_stream(row.lease.run_id);
                    }
                    Ok(to_u64(*len))
                }
                None => Err(fenced(&row.lease)),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::persist::{
        CheckpointStore, Frame, InboxMessage, JournalEntry, Lease, RunStore, SerializedEvent,
        WorkflowSnapshot,
    };

    const LONG: Duration = Duration::from_secs(60);

    /// A store on a fresh schema of `BLAZEN_TEST_POSTGRES` (`None` without it: skipped).
    async fn store() -> Option<PostgresStore> {
        let Ok(url) = std::env::var("BLAZEN_TEST_POSTGRES") else {
            println!("skipped: BLAZEN_TEST_POSTGRES not set");
            return None;
        };
        let schema = format!("blazen_test_{}", Uuid::new_v4().simple());
        Some(
            PostgresStore::connect_with_schema(&url, &schema)
                .await
                .expect("BLAZEN_TEST_POSTGRES is set but unusable"),
        )
    }

    fn entry(snap: &mut WorkflowSnapshot, n: u64, stream: &[u64], inbox: u64) -> JournalEntry {
        let mut frame = Frame::of(snap);
        frame.queued = vec![SerializedEvent::new("Tick", json!(n))];
        let mut entry = JournalEntry::new(frame);
        entry.step = Some("tick".into());
        entry.set.insert(format!("k{n}"), json!(n));
        entry.removed.push("gone".into());
        entry.stream = stream
            .iter()
            .map(|p| (*p, SerializedEvent::new("Tick", json!(p))))
            .collect();
        entry.inbox_through = Some(inbox);
        entry.apply(snap);
        entry
    }

    /// The journal rows of a run (seq, epoch, entry without its inbox id), its stream and
    /// the messages left in its inbox.
    async fn written(
        store: &PostgresStore,
        lease: &Lease,
    ) -> (
        Vec<(i64, i64, JournalEntry)>,
        Vec<(u64, SerializedEvent)>,
        Vec<InboxMessage>,
    ) {
        let client = store.client().await.unwrap();
        let journal = client
            .query(
                "SELECT seq, epoch, entry FROM blazen_journal WHERE run_id = $1 ORDER BY seq",
                &[&lease.run_id],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let mut e: JournalEntry = serde_json::from_str(r.get(2)).unwrap();
                e.inbox_through = None;
                (r.get(0), r.get(1), e)
            })
            .collect();
        let stream = store.read_stream(lease.run_id, 0, 100).await.unwrap();
        let inbox = store.read_inbox(lease, 0).await.unwrap();
        (journal, stream, inbox.into_iter().map(|(_, m)| m).collect())
    }

    /// A group writes what the plain append writes, run by run; a run fenced out in the
    /// middle of a group gets its typed error and writes nothing, the others commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_writes_what_plain_appends_write_and_fences_per_run() {
        let Some(store) = store().await else { return };
        // The fenced run: its lease ran out and another worker took it.
        let lost = WorkflowSnapshot::new("wf", "v1:t", Uuid::new_v4());
        let stale = store
            .create(&lost, "w", Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let claimed = store
            .claim("other", &["wf".into()], LONG, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        // Pairs of runs in the same state: the first of each written in groups, the second
        // with the plain append.
        let mut pairs = Vec::new();
        for i in 0..5 {
            let mut snap = WorkflowSnapshot::new("wf", "v1:t", Uuid::new_v4());
            snap.state.insert("gone".into(), json!(i));
            let mut twin = snap.clone();
            twin.run_id = Uuid::new_v4();
            let grouped = store.create(&snap, "w", LONG).await.unwrap();
            let plain = store.create(&twin, "w", LONG).await.unwrap();
            for lease in [&grouped, &plain] {
                for _ in 0..3 {
                    store
                        .post(lease.run_id, &InboxMessage::Cancel)
                        .await
                        .unwrap();
                }
            }
            pairs.push((grouped, plain, snap, twin));
        }
        for round in 1..=2u64 {
            let mut rows = Vec::new();
            for (i, (grouped, plain, snap, twin)) in pairs.iter_mut().enumerate() {
                let stream: Vec<u64> = (0..i as u64 % 3).map(|p| round * 10 + p).collect();
                let through = |lease: &Lease| {
                    let store = store.clone();
                    let lease = lease.clone();
                    async move { store.read_inbox(&lease, 0).await.unwrap()[0].0 }
                };
                let e = entry(snap, round, &stream, through(grouped).await);
                rows.push(AppendRow::of(grouped, &e).unwrap());
                let e = entry(twin, round, &stream, through(plain).await);
                let len = store
                    .append_one(&AppendRow::of(plain, &e).unwrap())
                    .await
                    .unwrap();
                assert_eq!(len, round);
            }
            let mut frame_of_lost = lost.clone();
            let e = entry(&mut frame_of_lost, 99, &[0], 1);
            rows.insert(2, AppendRow::of(&stale, &e).unwrap());
            let refs: Vec<&AppendRow> = rows.iter().collect();
            // The group's own statement (`write_group` would fall back to plain appends).
            let outcomes = store.append_many(&refs).await.expect("one transaction");
            assert_eq!(outcomes.len(), 6);
            for (i, outcome) in outcomes.into_iter().enumerate() {
                if i == 2 {
                    assert!(
                        matches!(outcome, Err(PersistError::Fenced { run_id, epoch: 1 })
                            if run_id == lost.run_id),
                        "{outcome:?}"
                    );
                } else {
                    assert_eq!(outcome.unwrap(), round);
                }
            }
        }
        for (grouped, plain, snap, twin) in &pairs {
            assert_eq!(written(&store, grouped).await, written(&store, plain).await);
            assert_eq!(
                store.load(grouped.run_id).await.unwrap().as_ref(),
                Some(snap)
            );
            assert_eq!(store.load(plain.run_id).await.unwrap().as_ref(), Some(twin));
        }
        // The fenced run: nothing written.
        assert_eq!(store.load(lost.run_id).await.unwrap(), Some(lost.clone()));
        assert!(store
            .read_stream(lost.run_id, 0, 10)
            .await
            .unwrap()
            .is_empty());
        let client = store.client().await.unwrap();
        client
            .batch_execute(&format!(
                "DROP SCHEMA \"{}\" CASCADE",
                store.schema().unwrap()
            ))
            .await
            .unwrap();
    }

    /// A group PostgreSQL refuses as a whole (here: one entry collides with a journal row
    /// already there) is written again entry by entry: the bad entry fails its own run only,
    /// the others commit, each exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_group_is_written_entry_by_entry_and_fails_only_the_bad_run() {
        let Some(store) = store().await else { return };
        let mut snaps = Vec::new();
        let mut leases = Vec::new();
        for _ in 0..3 {
            let snap = WorkflowSnapshot::new("wf", "v1:t", Uuid::new_v4());
            leases.push(store.create(&snap, "w", LONG).await.unwrap());
            snaps.push(snap);
        }
        // The middle run's next journal row (seq 1) is taken already.
        let client = store.client().await.unwrap();
        client
            .execute(
                "INSERT INTO blazen_journal (run_id, seq, epoch, entry) VALUES ($1, 1, 1, '{}')",
                &[&leases[1].run_id],
            )
            .await
            .unwrap();
        let rows: Vec<AppendRow> = leases
            .iter()
            .zip(snaps.iter_mut())
            .map(|(lease, snap)| AppendRow::of(lease, &entry(snap, 1, &[5], 0)).unwrap())
            .collect();
        let refs: Vec<&AppendRow> = rows.iter().collect();
        assert!(
            store.append_many(&refs).await.is_err(),
            "the group as one transaction is refused"
        );
        let outcomes = store.write_group(&refs).await;
        assert_eq!(outcomes[0].as_ref().unwrap(), &1);
        assert!(outcomes[1].is_err(), "{:?}", outcomes[1]);
        assert_eq!(outcomes[2].as_ref().unwrap(), &1);
        for i in [0, 2] {
            let (journal, stream, _) = written(&store, &leases[i]).await;
            assert_eq!(journal.len(), 1);
            assert_eq!(stream.len(), 1);
            assert_eq!(
                store.load(leases[i].run_id).await.unwrap().as_ref(),
                Some(&snaps[i])
            );
        }
        // The refused run: nothing of its entry (its stream event neither).
        assert!(store
            .read_stream(leases[1].run_id, 0, 10)
            .await
            .unwrap()
            .is_empty());
        client
            .batch_execute(&format!(
                "DROP SCHEMA \"{}\" CASCADE",
                store.schema().unwrap()
            ))
            .await
            .unwrap();
    }
}
