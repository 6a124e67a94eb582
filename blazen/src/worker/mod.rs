//! Runs shared by replicas: [`Worker`] executes runs it owns through leases in a
//! [`RunStore`] and takes over the runs of workers that died; [`RunClient`] reaches any run
//! from any process, through the store alone.
//!
//! # Guarantees
//! - A run is executed by at most one worker at a time: its owner holds a lease (owner,
//!   expiry, epoch) and renews it in the background; every checkpoint is conditional on the
//!   epoch, so a worker that lost its lease (paused past its expiry, cut off) gets
//!   [`PersistError::Fenced`] on its next write and abandons the run without writing.
//! - When a worker dies, its runs are claimed by the others once their leases expire and
//!   resume from their last checkpoint. **At least once:** a step that was running when its
//!   owner died runs again on the new owner (nothing else does): give side effects an
//!   idempotency key built from `ctx.run_id()` and the event.
//! - [`Worker::shutdown`] hands its runs over at once (steps in flight run again elsewhere).
//! - A run that only waits for outside input past the idle limit is released from memory
//!   and resumed by whichever worker gets its next message.

mod client;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use client::RunClient;

use crate::error::WorkflowError;
use crate::event::StartEvent;
use crate::persist::{
    InboxMessage, Lease, Notice, PersistError, RunStore, SerializedEvent, SnapshotStatus,
    WorkflowSnapshot,
};
use crate::run::msg::{Respond, RouterMsg, SENDER_RUN};
use crate::run::owner::{Left, Ownership};
use crate::sync::lock;
use crate::workflow::{Workflow, WorkflowHandler};

/// Configures and starts a [`Worker`].
///
/// ```no_run
/// # async fn run(store: blazen::EmbeddedStore, wf: blazen::Workflow) -> Result<(), blazen::WorkflowError> {
/// use std::time::Duration;
/// use blazen::Worker;
///
/// let worker = Worker::builder(store)
///     .workflow(wf)
///     .lease(Duration::from_secs(10))
///     .start()
///     .await?;
/// let handler = worker.run("approval", serde_json::json!({"title": "Q3"})).await?;
/// # let _ = handler;
/// # Ok(())
/// # }
/// # fn main() { let _ = run; }
/// ```
#[must_use = "a worker builder does nothing until `start()`"]
pub struct WorkerBuilder {
    store: Arc<dyn RunStore>,
    workflows: HashMap<String, Workflow>,
    id: Option<String>,
    lease: Duration,
    idle_release: Option<Duration>,
    compact_every: u64,
    claim_interval: Option<Duration>,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl WorkerBuilder {
    /// A workflow this worker runs (by [`Workflow::name`]); call once per workflow.
    pub fn workflow(mut self, wf: Workflow) -> Self {
        self.workflows.insert(wf.name().to_owned(), wf);
        self
    }

    /// How long a lease lasts without renewal (default 10 s): a dead worker's runs move to
    /// another within about this long. Renewed every third of it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    /// The worker's id, the owner recorded in its leases (default: a random one). Ids must
    /// be unique among live workers. A restarted worker recovers runs like any other: once
    /// the leases of its previous life expire.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Release a run that only waits for outside input (an input request, a wait for an
    /// event nobody in the run emits) after this long (default: never): it then holds no
    /// memory or task, and resumes wherever its next message arrives.
    pub fn idle_release(mut self, after: Duration) -> Self {
        self.idle_release = Some(after);
        self
    }

    /// Compact a run's journal into a snapshot after this many entries (default 32).
    pub fn compact_every(mut self, entries: u64) -> Self {
        self.compact_every = entries.max(1);
        self
    }

    /// How often to look for claimable runs besides the store's notices (default: a
    /// quarter of the lease, at most 500 ms).
    pub fn claim_interval(mut self, every: Duration) -> Self {
        self.claim_interval = Some(every);
        self
    }

    /// Starts the worker: it recovers runs left by a previous worker with its id, then
    /// claims, renews and listens in the background.
    pub async fn start(self) -> Result<Worker, WorkflowError> {
        tokio::runtime::Handle::try_current().map_err(|_| WorkflowError::NoRuntime)?;
        let (left_tx, left_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let lease = self.lease;
        let inner = Arc::new(WorkerInner {
            id: self
                .id
                .unwrap_or_else(|| format!("worker-{}", Uuid::new_v4().simple())),
            store: self.store,
            workflows: self.workflows,
            lease,
            idle_release: self.idle_release,
            compact_every: self.compact_every,
            claim_interval: self
                .claim_interval
                .unwrap_or((lease / 4).min(Duration::from_millis(500))),
            runs: Mutex::new(HashMap::new()),
            left_tx,
            claim_now: Notify::new(),
            stop: stop_tx,
        });
        let notices = inner.store.notices().await?;
        let tasks = vec![
            tokio::spawn(Arc::clone(&inner).renew_loop(stop_rx.clone())),
            tokio::spawn(Arc::clone(&inner).claim_loop(stop_rx.clone())),
            tokio::spawn(Arc::clone(&inner).notice_loop(notices, stop_rx.clone())),
            tokio::spawn(Arc::clone(&inner).left_loop(left_rx, stop_rx)),
        ];
        inner.claim_now.notify_one();
        Ok(Worker {
            inner,
            tasks: Mutex::new(tasks),
        })
    }
}

/// A replica's executor of shared runs (see the [module docs](self)).
pub struct Worker {
    inner: Arc<WorkerInner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.inner.id)
            .field("runs", &lock(&self.inner.runs).len())
            .finish_non_exhaustive()
    }
}

struct WorkerInner {
    id: String,
    store: Arc<dyn RunStore>,
    workflows: HashMap<String, Workflow>,
    lease: Duration,
    idle_release: Option<Duration>,
    compact_every: u64,
    claim_interval: Duration,
    /// The runs this worker executes now.
    runs: Mutex<HashMap<Uuid, Owned>>,
    left_tx: mpsc::UnboundedSender<(Uuid, Left)>,
    claim_now: Notify,
    stop: watch::Sender<bool>,
}

/// A run this worker executes.
struct Owned {
    lease: Lease,
    router: mpsc::UnboundedSender<RouterMsg>,
    /// The last inbox message handed to the router.
    inbox_seen: u64,
}

impl Worker {
    /// Configures a worker over `store` (a [`RunStore`]: `PostgresStore`, `EmbeddedStore`).
    pub fn builder(store: impl RunStore + 'static) -> WorkerBuilder {
        WorkerBuilder {
            store: Arc::new(store),
            workflows: HashMap::new(),
            id: None,
            lease: Duration::from_secs(10),
            idle_release: None,
            compact_every: 32,
            claim_interval: None,
        }
    }

    /// This worker's id (the owner recorded in its leases).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// How many runs this worker executes now.
    pub fn runs(&self) -> usize {
        lock(&self.inner.runs).len()
    }

    /// Starts a run of workflow `workflow` with `input` in its `StartEvent`, owned by this
    /// worker. The handler works as for a local run; the run also survives this process
    /// (another worker takes it over) and any process reaches it through a [`RunClient`].
    pub async fn run(
        &self,
        workflow: &str,
        input: Value,
    ) -> Result<WorkflowHandler, WorkflowError> {
        let inner = &self.inner;
        let wf = inner.workflow(workflow)?;
        let run_id = Uuid::new_v4();
        // The first snapshot holds the StartEvent: a worker that takes the run over before
        // its first checkpoint starts it.
        let mut snapshot = WorkflowSnapshot::new(wf.name(), wf.fingerprint(), run_id);
        snapshot.status = SnapshotStatus::Running;
        snapshot
            .queued
            .push(SerializedEvent::from_event(&StartEvent::new(input.clone())));
        let lease = inner
            .store
            .create(&snapshot, &inner.id, inner.lease)
            .await?;
        let handler = wf.run_owned(run_id, input, inner.ownership(lease.clone()))?;
        inner.adopt(lease, &handler);
        Ok(handler)
    }

    /// Stops the worker and hands its runs over at once: they stop here (steps in flight
    /// run again on the next owner) and are released for another worker to claim.
    pub async fn shutdown(&self) {
        self.stop_tasks();
        let owned: Vec<Owned> = lock(&self.inner.runs).drain().map(|(_, o)| o).collect();
        for o in &owned {
            let _ = o.router.send(RouterMsg::Abandon {
                epoch: o.lease.epoch,
            });
        }
        // Let the routers stop their steps before the runs are handed over.
        for o in &owned {
            o.router.closed().await;
        }
        for o in owned {
            if let Err(err) = self.inner.store.release(&o.lease, true).await {
                tracing::warn!(run_id = %o.lease.run_id, "run not handed over: {err}");
            }
        }
    }
}

impl Worker {
    /// Stops claiming, renewing and listening (the runs' routers are left alone).
    fn stop_tasks(&self) {
        let _ = self.inner.stop.send(true);
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

impl WorkerInner {
    fn workflow(&self, name: &str) -> Result<&Workflow, WorkflowError> {
        self.workflows.get(name).ok_or_else(|| {
            WorkflowError::msg(format!("worker `{}` has no workflow `{name}`", self.id))
        })
    }

    fn ownership(&self, lease: Lease) -> Arc<Ownership> {
        Arc::new(Ownership::new(
            Arc::clone(&self.store),
            lease,
            self.compact_every,
            self.idle_release,
            self.left_tx.clone(),
        ))
    }

    /// Records a run this worker now executes.
    fn adopt(&self, lease: Lease, handler: &WorkflowHandler) {
        if let Some(router) = handler.router_sender() {
            lock(&self.runs).insert(
                lease.run_id,
                Owned {
                    lease,
                    router,
                    inbox_seen: 0,
                },
            );
        }
    }

    /// Resumes a run this worker just claimed, then hands it what its inbox holds.
    async fn resume(self: &Arc<Self>, lease: Lease) {
        let run_id = lease.run_id;
        let resumed = async {
            let wf = self.workflow(&lease.workflow)?;
            let snapshot = self
                .store
                .load(run_id)
                .await?
                .ok_or(PersistError::RunNotFound { run_id })?;
            if snapshot.status.is_finished() {
                return Ok(None);
            }
            let handler = wf.resume_owned(snapshot, Some(self.ownership(lease.clone())))?;
            // Nobody reads this process's copy of the stream: readers use the store.
            drop(handler.stream_events());
            Ok::<_, WorkflowError>(Some(handler))
        }
        .await;
        match resumed {
            Ok(Some(handler)) => {
                tracing::info!(%run_id, epoch = lease.epoch, worker = %self.id, "run taken over");
                self.adopt(lease, &handler);
                self.deliver_inbox(run_id).await;
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%run_id, worker = %self.id, "claimed run could not resume: {err}");
                let _ = self.store.release(&lease, false).await;
            }
        }
    }

    /// Hands the new messages in a run's inbox to its router, then has it checkpoint them
    /// (the checkpoint removes them from the inbox: a message is never lost between the two,
    /// only read again by the next owner if this one dies first).
    async fn deliver_inbox(&self, run_id: Uuid) {
        let Some((lease, router, seen)) = lock(&self.runs)
            .get(&run_id)
            .map(|o| (o.lease.clone(), o.router.clone(), o.inbox_seen))
        else {
            return;
        };
        let messages = match self.store.read_inbox(&lease, seen).await {
            Ok(m) => m,
            Err(PersistError::Fenced { epoch, .. }) => {
                let _ = router.send(RouterMsg::Abandon { epoch });
                return;
            }
            Err(err) => {
                tracing::warn!(%run_id, "inbox not read: {err}");
                return;
            }
        };
        let Some(&(last, _)) = messages.last() else {
            return;
        };
        let seen = {
            let mut runs = lock(&self.runs);
            match runs.get_mut(&run_id) {
                // Another delivery got this far meanwhile: it hands these over.
                Some(o) if o.inbox_seen < last => std::mem::replace(&mut o.inbox_seen, last),
                _ => return,
            }
        };
        for (id, message) in messages {
            if id <= seen {
                continue;
            }
            let msg = match message {
                InboxMessage::Event { event } => RouterMsg::Send {
                    event: Box::new(event.into_dynamic()),
                    sender: SENDER_RUN,
                },
                InboxMessage::Respond {
                    request_id,
                    response,
                } => RouterMsg::Respond(Box::new(Respond {
                    request_id,
                    response,
                    reply: tokio::sync::oneshot::channel().0,
                })),
                InboxMessage::Cancel => RouterMsg::Cancel {
                    reply: tokio::sync::oneshot::channel().0,
                },
            };
            let _ = router.send(msg);
        }
        let _ = router.send(RouterMsg::Checkpoint {
            inbox_through: last,
        });
    }

    async fn renew_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let every = self.lease / 3;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(every) => {}
            }
            let leases: Vec<Lease> = lock(&self.runs).values().map(|o| o.lease.clone()).collect();
            if leases.is_empty() {
                continue;
            }
            match self.store.renew(&self.id, &leases, self.lease).await {
                Ok(lost) => {
                    for run_id in lost {
                        if let Some(o) = lock(&self.runs).remove(&run_id) {
                            tracing::warn!(%run_id, worker = %self.id, "lease lost: abandoning the run");
                            let _ = o.router.send(RouterMsg::Abandon {
                                epoch: o.lease.epoch,
                            });
                        }
                    }
                }
                Err(err) => tracing::warn!(worker = %self.id, "leases not renewed: {err}"),
            }
        }
    }

    async fn claim_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let names: Vec<String> = self.workflows.keys().cloned().collect();
        loop {
            match self.store.claim(&self.id, &names, self.lease, 64).await {
                Ok(claimed) => {
                    let full = claimed.len() == 64;
                    for lease in claimed {
                        self.resume(lease).await;
                    }
                    if full {
                        continue;
                    }
                }
                Err(err) => tracing::warn!(worker = %self.id, "claim failed: {err}"),
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = self.claim_now.notified() => {}
                () = tokio::time::sleep(self.claim_interval) => {}
            }
        }
    }

    async fn notice_loop(
        self: Arc<Self>,
        mut notices: crate::persist::Notices,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let notice = tokio::select! {
                _ = stop.changed() => return,
                n = notices.next() => n,
            };
            match notice {
                Some(Notice::Inbox(run_id)) => {
                    if lock(&self.runs).contains_key(&run_id) {
                        self.deliver_inbox(run_id).await;
                    } else {
                        self.claim_now.notify_one();
                    }
                }
                Some(Notice::Claimable(_)) => self.claim_now.notify_one(),
                Some(_) => {}
                None => match self.store.notices().await {
                    Ok(again) => notices = again,
                    Err(err) => {
                        tracing::warn!(worker = %self.id, "store notices lost: {err}");
                        tokio::time::sleep(self.claim_interval).await;
                    }
                },
            }
        }
    }

    async fn left_loop(
        self: Arc<Self>,
        mut left: mpsc::UnboundedReceiver<(Uuid, Left)>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let msg = tokio::select! {
                _ = stop.changed() => return,
                m = left.recv() => m,
            };
            let Some((run_id, how)) = msg else { return };
            lock(&self.runs).remove(&run_id);
            tracing::debug!(%run_id, ?how, worker = %self.id, "run left the worker");
        }
    }
}
