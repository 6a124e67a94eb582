//! What the router writes: the run as a snapshot or a journal entry, checkpoints, and the
//! run's last word (its outcome), to a checkpoint store or through a worker's lease.

use super::Router;
use crate::error::WorkflowError;
use crate::persist::{
    Frame, JournalEntry, PersistError, SerializedEvent, SnapshotStatus, WorkflowSnapshot,
};
use crate::run::msg::RunOutcome;
use crate::run::owner::Left;
use crate::run::snapshot::{capture, capture_frame, RouterImage, SnapshotOf};
use crate::sync::lock;

impl Router {
    /// Everything the run is made of right now, as a snapshot.
    pub(super) fn image(&self, status: SnapshotStatus) -> WorkflowSnapshot {
        let of = self.snapshot_of();
        let router = self.router_image();
        capture(of, status, &self.shared.lock_state(), router, |step| {
            self.sender_name(step)
        })
    }

    /// [`image`](Self::image) without the context values.
    pub(super) fn frame(&self, status: SnapshotStatus) -> WorkflowSnapshot {
        let of = self.snapshot_of();
        let router = self.router_image();
        capture_frame(of, status, &self.shared.lock_state(), router, |step| {
            self.sender_name(step)
        })
    }

    pub(super) fn snapshot_of(&self) -> SnapshotOf<'_> {
        SnapshotOf {
            workflow: &self.wf.name,
            fingerprint: &self.wf.fingerprint,
            run_id: self.shared.run_id,
        }
    }

    /// What the router holds of the run, for a snapshot.
    pub(super) fn router_image(&self) -> RouterImage {
        let mut router = RouterImage {
            live: self.slots.iter().flatten().map(|s| s.exec).collect(),
            input_requests: lock(&self.inputs.list).clone(),
            stream_position: self
                .shared
                .stream_position
                .load(std::sync::atomic::Ordering::Relaxed),
            ..RouterImage::default()
        };
        for (step, q) in self.queues.iter().enumerate() {
            let name = self.wf.steps[step].name();
            for ev in q {
                router
                    .queued
                    .push(SerializedEvent::from_event(&**ev).for_step(name));
            }
        }
        for (events, _) in &self.backlog {
            for ev in events.as_slice() {
                router.queued.push(SerializedEvent::from_event(&**ev));
            }
        }
        for s in self.slots.iter().flatten() {
            if let Some(ev) = &s.input {
                let name = self.wf.steps[s.step as usize].name();
                router.in_flight.push(
                    SerializedEvent::from_event(&**ev)
                        .for_step(name)
                        .at_attempt(s.attempt),
                );
            }
        }
        router
    }

    /// Saves the run's snapshot to the checkpoint store; a run owned by a worker appends a
    /// journal entry instead (its context changes and its frame, fenced by its lease).
    pub(super) async fn checkpoint(&mut self, status: SnapshotStatus) -> Result<(), WorkflowError> {
        if let Some(owner) = self.shared.owner.clone() {
            let frame = self.frame(status);
            let mut entry = JournalEntry::new(Frame::from(frame));
            self.shared.lock_state().take_changes(&mut entry);
            owner.append(entry, || self.image(status)).await?;
            return Ok(());
        }
        let Some(store) = self.wf.checkpoint.clone() else {
            return Ok(());
        };
        let snap = self.image(status);
        store.save(&snap).await?;
        Ok(())
    }

    /// Saves the paused run's snapshot (a compaction for a run owned by a worker).
    pub(super) async fn save_paused(&self, image: &WorkflowSnapshot) -> Result<(), PersistError> {
        if let Some(owner) = &self.shared.owner {
            return owner.compact(image).await;
        }
        match &self.wf.checkpoint {
            Some(store) => store.save(image).await,
            None => Ok(()),
        }
    }

    /// The last word of a run owned by a worker: its final stream item and outcome, then
    /// the ownership ends. A run whose lease was lost writes nothing more.
    pub(super) async fn finish_owned(&self, outcome: &RunOutcome) {
        let Some(owner) = &self.shared.owner else {
            return;
        };
        let how = match outcome {
            Err(WorkflowError::Persist(PersistError::Fenced { .. })) => Left::Abandoned,
            Err(WorkflowError::Paused { .. }) => {
                if let Err(err) = owner.release(false).await {
                    tracing::warn!(run_id = %self.shared.run_id, "paused run not released: {err}");
                }
                Left::Released
            }
            _ => {
                let snap = self.outcome_snapshot(outcome);
                let entry = JournalEntry::new(Frame::of(&snap));
                if let Err(err) = owner.finish(entry, &snap).await {
                    tracing::warn!(run_id = %self.shared.run_id, "final checkpoint not saved: {err}");
                }
                Left::Finished
            }
        };
        owner.left(how);
    }

    /// A snapshot of the run's outcome alone (resuming it reports the outcome).
    pub(super) fn outcome_snapshot(&self, outcome: &RunOutcome) -> WorkflowSnapshot {
        let mut snap = WorkflowSnapshot::new(
            self.wf.name.clone(),
            self.wf.fingerprint.clone(),
            self.shared.run_id,
        );
        snap.stream_position = self
            .shared
            .stream_position
            .load(std::sync::atomic::Ordering::Relaxed);
        match outcome {
            Ok(stop) => {
                snap.status = SnapshotStatus::Completed;
                snap.result = Some(stop.result.clone());
            }
            Err(err) => {
                snap.status = if matches!(err, WorkflowError::Cancelled { .. }) {
                    SnapshotStatus::Cancelled
                } else {
                    SnapshotStatus::Failed
                };
                snap.error = Some(err.to_string());
            }
        }
        snap
    }
}
