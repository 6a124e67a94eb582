//! Stream notices sent after the commit that they announce, coalesced: code made less plain
//! for speed (house rule 15).
//!
//! A transaction that calls `pg_notify` takes a cluster-wide lock at commit and holds it
//! until its commit record is flushed (`PreCommit_Notify` in PostgreSQL's `async.c`: "Serialize
//! writers by acquiring a special lock that we hold till after commit"). Every journal append
//! of a step that wrote a stream event used to notify inside its own transaction, so those
//! appends committed one fsync at a time, whatever the number of connections: PostgreSQL
//! could not group their commits. Here the append commits without notifying, and the run id
//! waits in [`Notifier`]; one task per burst sends every waiting id in one statement, in a
//! transaction of its own that does not wait for its flush (`synchronous_commit = off`: a
//! notice is a hint, readers re-check the store), packing many ids into one payload.
//!
//! Pays for itself in `cargo bench --bench replicas` (throughput, 3 worker processes; see
//! BENCHMARKS.md, "Runs shared by replicas"). The plain version — `pg_notify` in the append's
//! statement — is what the differential test in this file compares the payloads against.
//!
//! A notice is still sent only after its data committed (a reader woken by it finds it), and
//! may be lost if the process dies in between: notices were always hints (a notice sent while
//! a listener is disconnected is lost too), and readers poll.

use std::collections::HashSet;
use std::sync::Mutex;

use uuid::Uuid;

use super::PostgresStore;
use crate::sync::lock;

/// A payload's limit is 8,000 bytes: stay below it.
const PAYLOAD_MAX: usize = 7_900;

/// The stream notices waiting to be sent, and whether a task is sending them.
#[derive(Debug, Default)]
pub(super) struct Notifier {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    runs: Vec<Uuid>,
    seen: HashSet<Uuid>,
    sending: bool,
}

/// Ends the sending of a task that is dropped before it returned (its runtime shut down),
/// so that the next notice starts another.
struct Sending<'a>(&'a Notifier);

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        lock(&self.0.pending).sending = false;
    }
}

/// `s:` and the ids of `runs`, comma-separated, in payloads below [`PAYLOAD_MAX`] bytes.
pub(super) fn stream_payloads(runs: &[Uuid]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for id in runs {
        if current.len() + 37 > PAYLOAD_MAX {
            payloads.push(std::mem::take(&mut current));
        }
        current.push_str(if current.is_empty() { "s:" } else { "," });
        current.push_str(&id.to_string());
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

impl PostgresStore {
    /// Announces new stream events (or the end) of `run_id`, after the commit that wrote
    /// them (see the [module docs](self)).
    pub(super) fn notify_stream(&self, run_id: Uuid) {
        let mut pending = lock(&self.inner.notifier.pending);
        if pending.seen.insert(run_id) {
            pending.runs.push(run_id);
        }
        if pending.sending {
            return;
        }
        pending.sending = true;
        drop(pending);
        let store = self.clone();
        tokio::spawn(async move { store.send_notices().await });
    }

    /// Sends the waiting notices until none is left (those added meanwhile go in the next
    /// statement).
    async fn send_notices(&self) {
        let sending = Sending(&self.inner.notifier);
        loop {
            let runs = {
                let mut pending = lock(&self.inner.notifier.pending);
                if pending.runs.is_empty() {
                    // Under the lock: a notice added after this starts a new task.
                    pending.sending = false;
                    drop(pending);
                    std::mem::forget(sending);
                    return;
                }
                pending.seen.clear();
                std::mem::take(&mut pending.runs)
            };
            let payloads = stream_payloads(&runs);
            // Its own transaction, not waiting for its flush: the lock that serialises
            // notifying commits is held for a moment only.
            let sent = self
                .query(
                    "SELECT set_config('synchronous_commit', 'off', true),
                            (SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS t(p))",
                    &[&self.inner.channel, &payloads],
                )
                .await;
            if let Err(err) = sent {
                tracing::debug!("postgres store: stream notices not sent: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::runs::notices_of;
    use super::*;
    use crate::persist::ownership::Notice;

    /// The packed payloads announce exactly what one payload per run (the plain version,
    /// `PostgresStore::payload('s', id)`) announced, in order, each below the server's limit.
    #[test]
    fn packed_payloads_announce_what_one_payload_per_run_did() {
        for n in [0, 1, 2, 213, 214, 1_000] {
            let runs: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
            let plain: Vec<Notice> = runs
                .iter()
                .flat_map(|id| notices_of(&PostgresStore::payload('s', *id)))
                .collect();
            let payloads = stream_payloads(&runs);
            assert!(payloads.iter().all(|p| p.len() < 8_000), "{n} runs");
            let packed: Vec<Notice> = payloads.iter().flat_map(|p| notices_of(p)).collect();
            assert_eq!(packed, plain, "{n} runs");
        }
    }
}
