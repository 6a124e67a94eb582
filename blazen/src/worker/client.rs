//! [`RunClient`]: any process's handle on the runs of a [`RunStore`], with no worker.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::sync::{broadcast, OnceCell};
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::event::{DynamicEvent, Event, StopEvent};
use crate::persist::{
    InboxMessage, InputRequest, Notice, PersistError, RunStatus, RunStore, SerializedEvent,
};

/// How often a reader looks at the store when no notice woke it (notices are hints).
const POLL: Duration = Duration::from_millis(250);

/// Reaches runs of a [`RunStore`] from any process: sends events and answers, reads input
/// requests, streams, results and status, cancels. Everything goes through the store; the
/// worker owning a run is woken by the store's notices, and a run nobody owns is claimed
/// by a worker when a message reaches it. Cheap to clone.
///
/// ```no_run
/// # async fn run(store: blazen::EmbeddedStore, run_id: uuid::Uuid) -> Result<(), blazen::WorkflowError> {
/// use blazen::{Event, RunClient};
/// use futures::StreamExt;
///
/// let client = RunClient::new(store);
/// for request in client.input_requests(run_id).await? {
///     client.respond(run_id, request.request_id, serde_json::json!("yes")).await?;
/// }
/// let mut events = std::pin::pin!(client.events(run_id, 0));
/// while let Some(item) = events.next().await {
///     let (position, event) = item?;
///     println!("{position}: {}", event.event_type());
/// }
/// let stop = client.result(run_id).await?;
/// # let _ = stop;
/// # Ok(())
/// # }
/// # fn main() { let _ = run; }
/// ```
#[derive(Clone)]
pub struct RunClient {
    store: Arc<dyn RunStore>,
    /// The store's notices, shared by this client's readers (started on first use).
    notices: Arc<OnceCell<broadcast::Sender<Notice>>>,
}

impl std::fmt::Debug for RunClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunClient")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl RunClient {
    /// A client of `store`.
    pub fn new(store: impl RunStore + 'static) -> Self {
        RunClient {
            store: Arc::new(store),
            notices: Arc::new(OnceCell::new()),
        }
    }

    /// Sends `event` into run `run_id`, as `handler.send_event` would in its process.
    pub async fn send_event(&self, run_id: Uuid, event: impl Event) -> Result<(), WorkflowError> {
        let event = SerializedEvent::from_event(&event);
        Ok(self
            .store
            .post(run_id, &InboxMessage::Event { event })
            .await?)
    }

    /// Answers input request `request_id` of run `run_id`.
    pub async fn respond(
        &self,
        run_id: Uuid,
        request_id: Uuid,
        response: Value,
    ) -> Result<(), WorkflowError> {
        let known = self
            .input_requests(run_id)
            .await?
            .iter()
            .any(|r| r.request_id == request_id);
        if !known {
            return Err(WorkflowError::UnknownInputRequest { request_id });
        }
        let message = InboxMessage::Respond {
            request_id,
            response,
        };
        Ok(self.store.post(run_id, &message).await?)
    }

    /// The input requests run `run_id` waits for, as of its last checkpoint.
    pub async fn input_requests(&self, run_id: Uuid) -> Result<Vec<InputRequest>, WorkflowError> {
        let snapshot = self
            .store
            .load(run_id)
            .await?
            .ok_or(PersistError::RunNotFound { run_id })?;
        Ok(snapshot.input_requests)
    }

    /// Asks for run `run_id` to be cancelled: its owner cancels it, or the worker that
    /// claims it does.
    pub async fn cancel(&self, run_id: Uuid) -> Result<(), WorkflowError> {
        Ok(self.store.post(run_id, &InboxMessage::Cancel).await?)
    }

    /// Where run `run_id` stands: status, owner, epoch, last checkpoint time.
    pub async fn status(&self, run_id: Uuid) -> Result<RunStatus, WorkflowError> {
        Ok(self
            .store
            .status(run_id)
            .await?
            .ok_or(PersistError::RunNotFound { run_id })?)
    }

    /// Waits for run `run_id` to end, wherever it executes: its `StopEvent`, or the error it
    /// ended with.
    pub async fn result(&self, run_id: Uuid) -> Result<StopEvent, WorkflowError> {
        let mut notices = self.subscribe().await;
        loop {
            if self.status(run_id).await?.status.is_finished() {
                let snapshot = self
                    .store
                    .load(run_id)
                    .await?
                    .ok_or(PersistError::RunNotFound { run_id })?;
                return crate::workflow::stored_outcome(&snapshot);
            }
            wait_for(&mut notices, run_id).await;
        }
    }

    /// The stream events of run `run_id` from position `from` (0: the first), each with its
    /// position: first those already written, then live ones as the run writes them,
    /// wherever it executes, ending after the run's last item. A reader that reconnects with
    /// its last position + 1 loses nothing and sees nothing twice.
    pub fn events(
        &self,
        run_id: Uuid,
        from: u64,
    ) -> impl Stream<Item = Result<(u64, DynamicEvent), WorkflowError>> + Send + 'static {
        let client = self.clone();
        futures::stream::unfold(
            Reader {
                client,
                run_id,
                next: from,
                buffer: VecDeque::new(),
                notices: None,
                finished: false,
                done: false,
            },
            |mut r| async move {
                let item = r.next_item().await?;
                Some((item, r))
            },
        )
    }

    /// A receiver of the store's notices (`None` if the store cannot give any: readers poll).
    async fn subscribe(&self) -> Option<broadcast::Receiver<Notice>> {
        let store = Arc::clone(&self.store);
        let sender = self
            .notices
            .get_or_try_init(|| async move {
                let mut notices = store.notices().await?;
                let (tx, _) = broadcast::channel(1024);
                let fan_out = tx.clone();
                tokio::spawn(async move {
                    // Kept while the client lives; sends fail only while nobody listens.
                    while let Some(n) = notices.next().await {
                        let _ = fan_out.send(n);
                    }
                });
                Ok::<_, PersistError>(tx)
            })
            .await
            .ok()?;
        Some(sender.subscribe())
    }
}

/// Waits for a notice about `run_id`, or [`POLL`].
async fn wait_for(notices: &mut Option<broadcast::Receiver<Notice>>, run_id: Uuid) {
    let Some(rx) = notices else {
        tokio::time::sleep(POLL).await;
        return;
    };
    let _ = tokio::time::timeout(POLL, async {
        loop {
            match rx.recv().await {
                Ok(Notice::Stream(id) | Notice::Inbox(id) | Notice::Claimable(id))
                    if id == run_id =>
                {
                    return
                }
                Ok(_) => {}
                // Missed some: look at the store.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await;
                }
            }
        }
    })
    .await;
}

/// The state of one [`RunClient::events`] stream.
struct Reader {
    client: RunClient,
    run_id: Uuid,
    next: u64,
    buffer: VecDeque<(u64, SerializedEvent)>,
    notices: Option<Option<broadcast::Receiver<Notice>>>,
    /// The run was seen finished: the stream ends at the first read that finds nothing.
    finished: bool,
    done: bool,
}

impl Reader {
    async fn next_item(&mut self) -> Option<Result<(u64, DynamicEvent), WorkflowError>> {
        if self.notices.is_none() {
            self.notices = Some(self.client.subscribe().await);
        }
        loop {
            if let Some((position, event)) = self.buffer.pop_front() {
                return Some(Ok((position, event.into_dynamic())));
            }
            if self.done {
                return None;
            }
            match self.fill().await {
                Ok(true) => continue,
                Ok(false) if self.finished => {
                    self.done = true;
                    return None;
                }
                Ok(false) => {}
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
            // Nothing new: the run is over (read on to the end: its last items were written
            // before it was marked finished, more than one read's worth maybe), or wait.
            let finished = match self.client.status(self.run_id).await {
                Ok(status) => status.status.is_finished(),
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            };
            if finished {
                self.finished = true;
                continue;
            }
            if let Some(notices) = &mut self.notices {
                wait_for(notices, self.run_id).await;
            }
        }
    }

    /// Reads the next events from the store; whether there were any.
    async fn fill(&mut self) -> Result<bool, WorkflowError> {
        let events = self
            .client
            .store
            .read_stream(self.run_id, self.next, 256)
            .await?;
        let Some((last, _)) = events.last() else {
            return Ok(false);
        };
        self.next = last + 1;
        self.buffer.extend(events);
        Ok(true)
    }
}
