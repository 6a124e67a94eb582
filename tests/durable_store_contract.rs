//! The `RunStore` contract (issue 14), one suite run against every store: `EmbeddedStore`
//! (always) and `PostgresStore` (when `BLAZEN_TEST_POSTGRES` names a database, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`; each test works in a fresh schema it drops at
//! the end). Without the variable the Postgres tests print one line and pass; with it they
//! must connect, or fail.
//!
//! Each check is a generic `async fn(Vec<S>)` over two handles on one store (two pools, or
//! two SQLite connections on one file): what one handle writes, the other sees.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Duration;

use blazen::persist::{
    CheckpointStore, EmbeddedStore, Frame, InboxMessage, JournalEntry, Lease, Notice, PersistError,
    RunStore, SerializedEvent, SnapshotStatus, WorkflowSnapshot,
};
use blazen::PostgresStore;
use futures::{FutureExt, StreamExt};
use serde_json::json;
use uuid::Uuid;

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(1);

fn workflows() -> Vec<String> {
    vec!["wf".to_owned()]
}

fn snapshot() -> WorkflowSnapshot {
    let mut s = WorkflowSnapshot::new("wf", "v1:contract", Uuid::new_v4());
    s.state.insert("n".into(), json!(0));
    s.state.insert("gone".into(), json!("soon"));
    s.bytes.insert("raw".into(), vec![1, 2, 3]);
    s
}

fn ev(n: u64) -> SerializedEvent {
    SerializedEvent::new("Tick", json!({ "n": n }))
}

/// An entry setting `n`, with stream events at `stream` positions, on top of `snap`
/// (which it updates, so `snap` is the expected state).
/// The messages of `read_inbox`, without their ids.
async fn inbox<S: RunStore + ?Sized>(
    store: &S,
    lease: &Lease,
    after: u64,
) -> Result<Vec<InboxMessage>, PersistError> {
    Ok(store
        .read_inbox(lease, after)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect())
}

fn step(snap: &mut WorkflowSnapshot, n: u64, stream: &[u64]) -> JournalEntry {
    let mut frame = Frame::of(snap);
    frame.queued = vec![ev(n)];
    if let Some(last) = stream.last() {
        frame.stream_position = last + 1;
    }
    let mut entry = JournalEntry::new(frame);
    entry.step = Some("tick".into());
    entry.event_type = Some("Tick".into());
    entry.set.insert("n".into(), json!(n));
    entry.stream = stream.iter().map(|p| (*p, ev(*p))).collect();
    entry.apply(snap);
    entry
}

fn is_fenced<T: std::fmt::Debug>(r: Result<T, PersistError>) -> bool {
    matches!(r, Err(PersistError::Fenced { .. }))
}

async fn expire() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

// ---------------------------------------------------------------------------------------
// The checks.

async fn create_append_load<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let mut snap = snapshot();
    let lease = a.create(&snap, "w1", LONG).await.unwrap();
    assert_eq!((lease.run_id, lease.epoch), (snap.run_id, 1));
    assert_eq!(lease.owner, "w1");
    assert_eq!(lease.workflow, "wf");
    assert!(
        a.create(&snap, "w2", LONG).await.is_err(),
        "a run is created once"
    );
    assert_eq!(b.load(snap.run_id).await.unwrap(), Some(snap.clone()));

    assert_eq!(a.append(&lease, &step(&mut snap, 1, &[])).await.unwrap(), 1);
    let mut e2 = step(&mut snap, 2, &[0, 1]);
    e2.removed.push("gone".into());
    e2.apply(&mut snap);
    assert_eq!(a.append(&lease, &e2).await.unwrap(), 2);
    let mut e3 = step(&mut snap, 3, &[]);
    e3.set_bytes.insert("raw".into(), vec![7]);
    e3.frame.status = SnapshotStatus::WaitingForInput;
    e3.apply(&mut snap);
    assert_eq!(a.append(&lease, &e3).await.unwrap(), 3);
    let loaded = b.load(snap.run_id).await.unwrap().unwrap();
    assert_eq!(loaded, snap, "load = snapshot + journal applied in order");
    assert!(!loaded.state.contains_key("gone"));
    assert_eq!(
        b.status(snap.run_id).await.unwrap().unwrap().status,
        SnapshotStatus::WaitingForInput
    );

    // Compaction replaces the snapshot and starts the journal again.
    a.compact(&lease, &snap).await.unwrap();
    assert_eq!(b.load(snap.run_id).await.unwrap(), Some(snap.clone()));
    assert_eq!(a.append(&lease, &step(&mut snap, 4, &[])).await.unwrap(), 1);
    assert_eq!(b.load(snap.run_id).await.unwrap(), Some(snap.clone()));

    // An unfenced save replaces the snapshot and drops the journal.
    let mut saved = snap.clone();
    saved.state.insert("n".into(), json!(100));
    b.save(&saved).await.unwrap();
    assert_eq!(a.load(snap.run_id).await.unwrap(), Some(saved.clone()));
    assert_eq!(
        a.append(&lease, &step(&mut saved, 5, &[])).await.unwrap(),
        1
    );
    assert_eq!(a.load(snap.run_id).await.unwrap(), Some(saved));

    let list = b.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].run_id, snap.run_id);
    assert_eq!(list[0].workflow, "wf");

    // Delete removes everything of the run.
    a.post(snap.run_id, &InboxMessage::Cancel).await.unwrap();
    assert!(b.delete(snap.run_id).await.unwrap());
    assert!(!b.delete(snap.run_id).await.unwrap());
    assert_eq!(a.load(snap.run_id).await.unwrap(), None);
    assert_eq!(a.status(snap.run_id).await.unwrap(), None);
    assert!(a.read_stream(snap.run_id, 0, 100).await.unwrap().is_empty());
    assert!(a.list().await.unwrap().is_empty());
    assert!(matches!(
        a.post(snap.run_id, &InboxMessage::Cancel).await,
        Err(PersistError::RunNotFound { .. })
    ));
    // Recreating it starts clean (no inbox, journal or stream left behind).
    let mut fresh = snap.clone();
    fresh.state.clear();
    let again = a.create(&fresh, "w1", LONG).await.unwrap();
    assert!(inbox(a, &again, 0).await.unwrap().is_empty());
    assert_eq!(a.load(snap.run_id).await.unwrap(), Some(fresh));
}

async fn fencing<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let mut snap = snapshot();
    let old = a.create(&snap, "old", SHORT).await.unwrap();
    a.append(&old, &step(&mut snap, 1, &[0])).await.unwrap();
    expire().await;
    let claimed = b.claim("new", &workflows(), LONG, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let new = claimed[0].clone();
    assert_eq!(
        (new.run_id, new.epoch, new.owner.as_str()),
        (snap.run_id, 2, "new")
    );
    a.post(snap.run_id, &InboxMessage::Cancel).await.unwrap();

    // Every write of the old epoch is refused and changes nothing.
    let before = b.load(snap.run_id).await.unwrap();
    let mut other = snap.clone();
    assert!(is_fenced(a.append(&old, &step(&mut other, 99, &[1])).await));
    assert!(is_fenced(a.compact(&old, &other).await));
    assert!(is_fenced(a.read_inbox(&old, 0).await));
    assert!(is_fenced(a.release(&old, true).await));
    assert!(is_fenced(a.release(&old, false).await));
    // The same epoch under another owner name is no lease either.
    let forged = Lease::new(snap.run_id, "wf", "old", 2);
    assert!(is_fenced(
        a.append(&forged, &step(&mut other, 98, &[])).await
    ));
    assert_eq!(b.load(snap.run_id).await.unwrap(), before);
    assert_eq!(b.read_stream(snap.run_id, 0, 10).await.unwrap().len(), 1);
    let status = b.status(snap.run_id).await.unwrap().unwrap();
    assert_eq!((status.owner.as_deref(), status.epoch), (Some("new"), 2));

    // The new owner's writes go through.
    assert_eq!(inbox(b, &new, 0).await.unwrap(), vec![InboxMessage::Cancel]);
    b.append(&new, &step(&mut snap, 2, &[1])).await.unwrap();
    assert_eq!(a.load(snap.run_id).await.unwrap(), Some(snap.clone()));

    // A finished compaction ends the ownership: the owner's later writes are fenced too.
    snap.status = SnapshotStatus::Completed;
    snap.result = Some(json!("done"));
    b.compact(&new, &snap).await.unwrap();
    assert!(is_fenced(b.append(&new, &step(&mut other, 3, &[])).await));
    assert!(is_fenced(b.release(&new, true).await));
    let status = a.status(snap.run_id).await.unwrap().unwrap();
    assert_eq!(status.owner, None);
    assert_eq!(status.status, SnapshotStatus::Completed);
    expire().await;
    assert!(a
        .claim("x", &workflows(), LONG, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(a.load(snap.run_id).await.unwrap(), Some(snap));
}

/// Appends of many runs at once (a `PostgresStore` writes them grouped in one transaction):
/// each caller gets its own run's outcome, a fenced run's entry fails alone and writes
/// nothing, and each run's journal keeps its order.
async fn concurrent_appends_fence_per_run<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    // One run whose lease `a` loses to `b`, among many that `a` keeps.
    let mut lost = snapshot();
    let old = a.create(&lost, "old", SHORT).await.unwrap();
    expire().await;
    let new = b
        .claim("new", &workflows(), LONG, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(new.run_id, lost.run_id);
    let mut runs = Vec::new();
    for _ in 0..40 {
        let snap = snapshot();
        let lease = a.create(&snap, "old", LONG).await.unwrap();
        runs.push((snap, lease));
    }
    let before = b.load(lost.run_id).await.unwrap();
    for round in 1..=3u64 {
        let mut appends = Vec::new();
        for (i, (snap, lease)) in runs.iter_mut().enumerate() {
            let i = i as u64;
            let entry = step(snap, round, &[round * 100 + i]);
            let store = a.clone();
            let lease = lease.clone();
            appends.push(tokio::spawn(
                async move { store.append(&lease, &entry).await },
            ));
        }
        let stale = step(&mut lost.clone(), 99, &[0]);
        let fenced = {
            let store = a.clone();
            let old = old.clone();
            tokio::spawn(async move { store.append(&old, &stale).await })
        };
        for append in appends {
            assert_eq!(
                append.await.unwrap().unwrap(),
                round,
                "entries since compaction"
            );
        }
        assert!(is_fenced(fenced.await.unwrap()));
    }
    for (i, (snap, _)) in runs.iter().enumerate() {
        let i = i as u64;
        assert_eq!(b.load(snap.run_id).await.unwrap().as_ref(), Some(snap));
        let stream: Vec<u64> = b
            .read_stream(snap.run_id, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(stream, vec![100 + i, 200 + i, 300 + i]);
    }
    assert_eq!(b.load(lost.run_id).await.unwrap(), before);
    assert!(b.read_stream(lost.run_id, 0, 10).await.unwrap().is_empty());
    b.append(&new, &step(&mut lost, 1, &[])).await.unwrap();
    assert_eq!(a.load(lost.run_id).await.unwrap(), Some(lost));
}

async fn claim_exclusive<S: RunStore + Clone + 'static>(h: Vec<S>) {
    const RUNS: usize = 30;
    let mut ids = Vec::new();
    for _ in 0..RUNS {
        let snap = snapshot();
        h[0].create(&snap, "dead", SHORT).await.unwrap();
        ids.push(snap.run_id);
    }
    // Runs of another workflow and finished runs are never claimed.
    let mut other = snapshot();
    other.workflow = "other".into();
    h[0].create(&other, "dead", SHORT).await.unwrap();
    let mut done = snapshot();
    let l = h[0].create(&done, "dead", LONG).await.unwrap();
    done.status = SnapshotStatus::Failed;
    h[0].compact(&l, &done).await.unwrap();
    expire().await;

    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = h[i % h.len()].clone();
        tasks.push(tokio::spawn(async move {
            let me = format!("worker-{i}");
            let mut mine = Vec::new();
            loop {
                let got = store.claim(&me, &workflows(), LONG, 3).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                for lease in &got {
                    assert_eq!(lease.owner, me);
                    assert_eq!(lease.epoch, 2);
                }
                mine.extend(got);
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut count: HashMap<Uuid, usize> = HashMap::new();
    for t in tasks {
        for lease in t.await.unwrap() {
            *count.entry(lease.run_id).or_default() += 1;
        }
    }
    assert_eq!(count.len(), RUNS, "every expired run is claimed");
    assert!(
        count.values().all(|&n| n == 1),
        "no run is claimed twice: {count:?}"
    );
    for id in ids {
        assert!(count.contains_key(&id));
    }
    assert!(h[1]
        .claim("late", &workflows(), LONG, 100)
        .await
        .unwrap()
        .is_empty());
}

async fn renew_reports_lost_runs<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let kept = a.create(&snapshot(), "w1", LONG).await.unwrap();
    let taken = a.create(&snapshot(), "w1", SHORT).await.unwrap();
    let mut fin = snapshot();
    let finished = a.create(&fin, "w1", LONG).await.unwrap();
    fin.status = SnapshotStatus::Completed;
    a.compact(&finished, &fin).await.unwrap();
    expire().await;
    let claimed = b.claim("w2", &workflows(), LONG, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].run_id, taken.run_id);

    let mut lost = a
        .renew("w1", &[kept.clone(), taken.clone(), finished.clone()], LONG)
        .await
        .unwrap();
    lost.sort();
    let mut want = vec![taken.run_id, finished.run_id];
    want.sort();
    assert_eq!(lost, want);
    assert!(a.renew("w1", &[], LONG).await.unwrap().is_empty());

    // Renewing keeps a short lease alive past its first expiry.
    let short = a
        .create(&snapshot(), "w1", Duration::from_millis(300))
        .await
        .unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let lost = a
            .renew(
                "w1",
                std::slice::from_ref(&short),
                Duration::from_millis(300),
            )
            .await
            .unwrap();
        assert!(lost.is_empty());
    }
    assert!(b
        .claim("w2", &workflows(), LONG, 10)
        .await
        .unwrap()
        .is_empty());
    let status = b.status(kept.run_id).await.unwrap().unwrap();
    assert_eq!(status.owner.as_deref(), Some("w1"));
}

async fn release_handover_and_idle<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    // Handover: claimable at once.
    let lease = a.create(&snapshot(), "w1", LONG).await.unwrap();
    a.release(&lease, true).await.unwrap();
    let status = b.status(lease.run_id).await.unwrap().unwrap();
    assert_eq!(status.owner, None);
    let got = b.claim("w2", &workflows(), LONG, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].run_id, got[0].epoch), (lease.run_id, 2));
    assert!(is_fenced(a.release(&lease, true).await));

    // Idle: claimable only once a message arrives.
    let idle = got[0].clone();
    b.release(&idle, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(a
        .claim("w3", &workflows(), LONG, 10)
        .await
        .unwrap()
        .is_empty());
    let msg = InboxMessage::Respond {
        request_id: Uuid::new_v4(),
        response: json!({"ok": true}),
    };
    a.post(idle.run_id, &msg).await.unwrap();
    let got = b.claim("w3", &workflows(), LONG, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].run_id, got[0].epoch), (idle.run_id, 3));
    assert_eq!(inbox(b, &got[0], 0).await.unwrap(), vec![msg.clone()]);
    assert!(a
        .claim("w4", &workflows(), LONG, 10)
        .await
        .unwrap()
        .is_empty());

    // An idle release with a message already waiting is claimable at once.
    a.post(idle.run_id, &msg).await.unwrap();
    b.release(&got[0], false).await.unwrap();
    let again = a.claim("w4", &workflows(), LONG, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    // The first message was not recorded in a journal entry by the owner that read it: the
    // next owner reads it again, then the second.
    assert_eq!(
        inbox(a, &again[0], 0).await.unwrap(),
        vec![msg.clone(), msg]
    );
}

async fn post_errors_and_inbox_order<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let unknown = Uuid::new_v4();
    assert!(matches!(
        a.post(unknown, &InboxMessage::Cancel).await,
        Err(PersistError::RunNotFound { run_id }) if run_id == unknown
    ));

    let lease = a.create(&snapshot(), "w1", LONG).await.unwrap();
    assert!(inbox(a, &lease, 0).await.unwrap().is_empty());
    let sent: Vec<InboxMessage> = (0..5)
        .map(|n| InboxMessage::Event { event: ev(n) })
        .collect();
    for m in &sent {
        b.post(lease.run_id, m).await.unwrap();
    }
    let read = a.read_inbox(&lease, 0).await.unwrap();
    let messages: Vec<InboxMessage> = read.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(messages, sent, "oldest first");
    let ids: Vec<u64> = read.iter().map(|(id, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Reading removes nothing; reading after an id skips what came before.
    assert_eq!(inbox(a, &lease, 0).await.unwrap(), sent);
    assert_eq!(inbox(a, &lease, ids[2]).await.unwrap(), sent[3..]);
    // The journal entry that records them removes them, in its transaction.
    let mut recorded = a.load(lease.run_id).await.unwrap().unwrap();
    let mut entry = step(&mut recorded, 1, &[]);
    entry.inbox_through = Some(ids[4]);
    a.append(&lease, &entry).await.unwrap();
    assert!(
        inbox(a, &lease, 0).await.unwrap().is_empty(),
        "removed with the entry"
    );
    // A message to an owned run does not make it claimable.
    b.post(lease.run_id, &sent[0]).await.unwrap();
    assert!(b
        .claim("w2", &workflows(), LONG, 10)
        .await
        .unwrap()
        .is_empty());

    // Concurrent posts all arrive, each once.
    let mut tasks = Vec::new();
    for n in 0..20u64 {
        let s = h[(n % 2) as usize].clone();
        let id = lease.run_id;
        tasks.push(tokio::spawn(async move {
            s.post(id, &InboxMessage::Event { event: ev(100 + n) })
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let got = inbox(a, &lease, 0).await.unwrap();
    assert_eq!(got.len(), 21);

    let mut snap = a.load(lease.run_id).await.unwrap().unwrap();
    snap.status = SnapshotStatus::Completed;
    a.compact(&lease, &snap).await.unwrap();
    assert!(matches!(
        b.post(lease.run_id, &InboxMessage::Cancel).await,
        Err(PersistError::Finished { run_id }) if run_id == lease.run_id
    ));
}

async fn stream_positions<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let mut snap = snapshot();
    let lease = a.create(&snap, "w1", LONG).await.unwrap();
    assert!(b.read_stream(snap.run_id, 0, 10).await.unwrap().is_empty());
    a.append(&lease, &step(&mut snap, 1, &[0, 1, 2]))
        .await
        .unwrap();
    a.append(&lease, &step(&mut snap, 2, &[])).await.unwrap();
    a.append(&lease, &step(&mut snap, 3, &[3, 4]))
        .await
        .unwrap();
    let all = b.read_stream(snap.run_id, 0, 100).await.unwrap();
    assert_eq!(
        all,
        (0..5).map(|p| (p, ev(p))).collect::<Vec<_>>(),
        "in order, each once"
    );
    let tail = b.read_stream(snap.run_id, 3, 100).await.unwrap();
    assert_eq!(tail.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![3, 4]);
    let head = b.read_stream(snap.run_id, 0, 2).await.unwrap();
    assert_eq!(head.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![0, 1]);
    assert!(b.read_stream(snap.run_id, 5, 10).await.unwrap().is_empty());
    // Compaction keeps the stream.
    a.compact(&lease, &snap).await.unwrap();
    assert_eq!(b.read_stream(snap.run_id, 0, 100).await.unwrap(), all);
    assert_eq!(
        b.load(snap.run_id).await.unwrap().unwrap().stream_position,
        5
    );
}

async fn status_fields<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let before = now_ms();
    let mut snap = snapshot();
    let lease = a.create(&snap, "w1", LONG).await.unwrap();
    let s = b.status(snap.run_id).await.unwrap().unwrap();
    assert_eq!(s.run_id, snap.run_id);
    assert_eq!(s.workflow, "wf");
    assert_eq!(s.status, SnapshotStatus::Running);
    assert_eq!(s.owner.as_deref(), Some("w1"));
    assert_eq!(s.epoch, 1);
    assert!(!s.cancel_requested);
    // The database's clock may differ a little from ours.
    assert!(s.lease_until_ms + 5_000 >= before + LONG.as_millis() as u64);
    assert!(s.updated_at_ms + 5_000 >= before);
    assert_eq!(b.status(Uuid::new_v4()).await.unwrap(), None);

    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut e = step(&mut snap, 1, &[]);
    e.frame.status = SnapshotStatus::WaitingForInput;
    a.append(&lease, &e).await.unwrap();
    let s2 = b.status(snap.run_id).await.unwrap().unwrap();
    assert_eq!(s2.status, SnapshotStatus::WaitingForInput);
    assert!(s2.updated_at_ms > s.updated_at_ms);

    b.post(snap.run_id, &InboxMessage::Cancel).await.unwrap();
    assert!(
        b.status(snap.run_id)
            .await
            .unwrap()
            .unwrap()
            .cancel_requested
    );
    a.release(&lease, false).await.unwrap();
    let s3 = b.status(snap.run_id).await.unwrap().unwrap();
    assert_eq!(s3.owner, None);
    assert!(s3.cancel_requested);

    // An expired lease reports no owner.
    let short = a.create(&snapshot(), "w1", SHORT).await.unwrap();
    expire().await;
    assert_eq!(b.status(short.run_id).await.unwrap().unwrap().owner, None);
}

async fn notices_arrive<S: RunStore + Clone + 'static>(h: Vec<S>) {
    let (a, b) = (&h[0], &h[1]);
    let mut notices = b.notices().await.unwrap();
    let mut snap = snapshot();
    let lease = a.create(&snap, "w1", LONG).await.unwrap();
    let id = snap.run_id;

    async fn wait_for(notices: &mut blazen::persist::Notices, want: Notice) {
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(n) = notices.next().await {
                if n == want {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(found, Ok(true), "notice {want:?} did not arrive");
    }

    a.post(id, &InboxMessage::Cancel).await.unwrap();
    wait_for(&mut notices, Notice::Inbox(id)).await;
    a.append(&lease, &step(&mut snap, 1, &[0])).await.unwrap();
    wait_for(&mut notices, Notice::Stream(id)).await;
    a.release(&lease, true).await.unwrap();
    wait_for(&mut notices, Notice::Claimable(id)).await;
    let lease = b
        .claim("w2", &workflows(), LONG, 1)
        .await
        .unwrap()
        .remove(0);
    b.release(&lease, false).await.unwrap();
    a.post(id, &InboxMessage::Cancel).await.unwrap();
    wait_for(&mut notices, Notice::Claimable(id)).await;
    let lease = b
        .claim("w2", &workflows(), LONG, 1)
        .await
        .unwrap()
        .remove(0);
    snap.status = SnapshotStatus::Failed;
    b.compact(&lease, &snap).await.unwrap();
    wait_for(&mut notices, Notice::Stream(id)).await;
    drop(notices);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------------
// The stores.

/// A fresh directory removed on drop.
struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("blazen-contract-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn db(&self) -> PathBuf {
        self.0.join("runs.db")
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Two handles (two SQLite connections) on one fresh database file.
async fn with_embedded<F, Fut>(check: F)
where
    F: FnOnce(Vec<EmbeddedStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = TempDir::new();
    let one = EmbeddedStore::open(dir.db()).unwrap();
    let two = EmbeddedStore::open(dir.db()).unwrap();
    check(vec![one, two]).await;
}

/// Two handles (two pools) on a fresh schema of `BLAZEN_TEST_POSTGRES`, dropped afterwards.
async fn with_postgres<F, Fut>(check: F)
where
    F: FnOnce(Vec<PostgresStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(url) = std::env::var("BLAZEN_TEST_POSTGRES") else {
        println!("skipped: BLAZEN_TEST_POSTGRES not set");
        return;
    };
    let schema = format!("blazen_test_{}", Uuid::new_v4().simple());
    let connect = || async {
        PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap_or_else(|e| panic!("BLAZEN_TEST_POSTGRES is set but unusable: {e}"))
    };
    let one = connect().await;
    let two = connect().await;
    let admin = one.clone();
    let outcome = AssertUnwindSafe(check(vec![one, two])).catch_unwind().await;
    admin
        .client()
        .await
        .unwrap()
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::with_embedded(super::$check).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::with_postgres(super::$check).await;
                }
            )*
        }
    };
}

contract!(
    create_append_load,
    fencing,
    concurrent_appends_fence_per_run,
    claim_exclusive,
    renew_reports_lost_runs,
    release_handover_and_idle,
    post_errors_and_inbox_order,
    stream_positions,
    status_fields,
    notices_arrive,
);

// ---------------------------------------------------------------------------------------
// The embedded store's own: old databases, bad rows.

/// The schema of version-1 databases (before leases and journals), as that build wrote it.
const V1_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blazen_runs (
    run_id         TEXT PRIMARY KEY NOT NULL,
    workflow       TEXT NOT NULL,
    status         TEXT NOT NULL,
    format_version INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    snapshot       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS blazen_runs_workflow ON blazen_runs (workflow, updated_at_ms);
PRAGMA user_version = 1;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_v1_database_loads_and_migrates() {
    let dir = TempDir::new();
    let mut snap = snapshot();
    snap.status = SnapshotStatus::WaitingForInput;
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch(V1_SCHEMA).unwrap();
        conn.execute(
            "INSERT INTO blazen_runs VALUES (?1, 'wf', 'waiting_for_input', 1, 1000, ?2)",
            rusqlite::params![snap.run_id.to_string(), snap.to_json().unwrap()],
        )
        .unwrap();
    }
    let store = EmbeddedStore::open(dir.db()).unwrap();
    assert_eq!(store.load(snap.run_id).await.unwrap(), Some(snap.clone()));
    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, SnapshotStatus::WaitingForInput);
    // An old run is unowned and idle: a message makes it claimable.
    let status = store.status(snap.run_id).await.unwrap().unwrap();
    assert_eq!((status.owner, status.epoch), (None, 0));
    assert!(store
        .claim("w", &workflows(), LONG, 10)
        .await
        .unwrap()
        .is_empty());
    store
        .post(snap.run_id, &InboxMessage::Cancel)
        .await
        .unwrap();
    let got = store.claim("w", &workflows(), LONG, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].epoch, 1);
    drop(store);
    // Opening again is a no-op; the version is recorded.
    let store = EmbeddedStore::open(dir.db()).unwrap();
    assert_eq!(store.load(snap.run_id).await.unwrap(), Some(snap));
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
}

/// Issue 16: one row with a status this build does not know must not hide the others.
#[tokio::test]
async fn embedded_list_skips_a_row_it_cannot_read() {
    let dir = TempDir::new();
    let store = EmbeddedStore::open(dir.db()).unwrap();
    let good = snapshot();
    let bad = snapshot();
    store.save(&good).await.unwrap();
    store.save(&bad).await.unwrap();
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute(
            "UPDATE blazen_runs SET status = 'exploded' WHERE run_id = ?1",
            rusqlite::params![bad.run_id.to_string()],
        )
        .unwrap();
    }
    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].run_id, good.run_id);
}

#[tokio::test]
async fn postgres_connect_errors_hide_the_password() {
    // Nothing listens on port 1: the connection fails; the password must not show.
    let err = PostgresStore::connect("postgres://u:hunter2secret@127.0.0.1:1/db")
        .await
        .unwrap_err();
    assert!(matches!(err, PersistError::Backend { .. }), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("hunter2secret"),
        "{err:?}"
    );
}

#[tokio::test]
async fn postgres_debug_hides_the_password() {
    let Ok(url) = std::env::var("BLAZEN_TEST_POSTGRES") else {
        println!("skipped: BLAZEN_TEST_POSTGRES not set");
        return;
    };
    // The test server trusts local connections: a password in the URL is ignored by it,
    // and must be shown nowhere by us.
    let with_password = url.replacen("://postgres@", "://postgres:hunter2secret@", 1);
    let schema = format!("blazen_test_{}", Uuid::new_v4().simple());
    let store = PostgresStore::connect_with_schema(&with_password, &schema)
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("PostgresStore"), "{shown}");
    assert!(shown.contains(&schema), "{shown}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
    // A schema name that is not a plain identifier is refused before any SQL.
    assert!(
        PostgresStore::connect_with_schema(&url, "x\"; DROP TABLE y; --")
            .await
            .is_err()
    );
    store
        .client()
        .await
        .unwrap()
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}
