//! Media jobs: submit, poll with back-off and an overall timeout, fetch the result, cancel.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::{BoxFuture, FutureExt, Shared};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use super::output::ComputeOutput;
use crate::error::{BlazenError, Result};
use crate::types::RequestTiming;

/// How a job is polled: the first interval, the back-off factor, the longest interval, and the
/// overall deadline after which waiting fails with a Timeout error (the job itself is left
/// running; call [`ComputeJob::cancel`] to stop it).
///
/// ```
/// use blazen_providers::PollConfig;
/// use std::time::Duration;
/// let poll = PollConfig { timeout: Duration::from_secs(60), ..PollConfig::default() };
/// assert_eq!(poll.initial_interval, Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollConfig {
    /// Wait before the second status request (the first is sent at once).
    pub initial_interval: Duration,
    /// Factor applied to the interval after each poll.
    pub multiplier: f64,
    /// The longest wait between two polls.
    pub max_interval: Duration,
    /// Give up waiting after this long.
    pub timeout: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(500),
            multiplier: 1.5,
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

impl PollConfig {
    fn next_interval(&self, current: Duration) -> Duration {
        let factor = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier
        } else {
            1.0
        };
        current
            .mul_f64(factor)
            .min(self.max_interval)
            .max(Duration::from_millis(1))
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// Running.
    Running,
    /// Done; the result can be fetched.
    Completed,
    /// The job failed.
    Failed,
    /// The job was cancelled.
    Cancelled,
}

/// A snapshot of a job's progress, as polling sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobProgress {
    /// Where the job stands.
    pub status: JobStatus,
    /// Position in the provider's queue, when queued and reported.
    pub queue_position: Option<u64>,
    /// Log lines reported so far (the provider's, when it sends them).
    pub logs: Vec<String>,
    /// Why the job failed, when it did.
    pub error: Option<String>,
    /// How many status requests were made.
    pub polls: u32,
    /// Time since the job was submitted.
    pub elapsed: Duration,
}

/// What a provider's status endpoint said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RemoteStatus {
    pub(crate) status: JobStatus,
    pub(crate) queue_position: Option<u64>,
    pub(crate) logs: Vec<String>,
    pub(crate) error: Option<String>,
    /// Execution time reported by the provider, in ms.
    pub(crate) execution_ms: Option<u64>,
}

/// A job running at a provider that is polled over HTTP (fal's queue).
#[async_trait]
pub(crate) trait RemoteJob: Send + Sync + fmt::Debug {
    async fn status(&self) -> Result<RemoteStatus>;
    async fn result(&self, timing: RequestTiming) -> Result<ComputeOutput>;
    /// Asks the provider to cancel; `Ok(false)` when the job had already completed.
    async fn cancel(&self) -> Result<bool>;
}

type TaskFuture = Shared<BoxFuture<'static, Result<ComputeOutput>>>;

enum Backend {
    Remote(Box<dyn RemoteJob>),
    /// A request answered synchronously by the provider, running in a spawned task.
    Task {
        result: TaskFuture,
        abort: tokio::task::AbortHandle,
    },
}

struct Inner {
    id: Option<String>,
    kind: &'static str,
    provider: &'static str,
    submitted: Instant,
    poll: PollConfig,
    cancel_tx: watch::Sender<bool>,
    backend: Backend,
    last: Mutex<Option<JobProgress>>,
}

/// A submitted media job. Cheap to clone: clones share the job, so one task can
/// [`wait`](Self::wait) while another [`cancel`](Self::cancel)s.
///
/// ```no_run
/// use blazen_providers::{ComputeModel, ImageRequest};
/// # async fn run() -> blazen_providers::Result<()> {
/// let media = ComputeModel::fal("fal-key");
/// let job = media.submit(ImageRequest::new("a cat in space")).await?;
/// let canceller = job.clone();
/// tokio::spawn(async move {
///     tokio::time::sleep(std::time::Duration::from_secs(60)).await;
///     let _ = canceller.cancel().await;
/// });
/// let output = job.wait_with(|p| println!("{:?} after {:?}", p.status, p.elapsed)).await?;
/// # let _ = output; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ComputeJob {
    inner: Arc<Inner>,
}

impl fmt::Debug for ComputeJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComputeJob")
            .field("id", &self.inner.id)
            .field("kind", &self.inner.kind)
            .field("provider", &self.inner.provider)
            .field("cancelled", &*self.inner.cancel_tx.borrow())
            .finish()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ComputeJob {
    pub(crate) fn remote(
        id: String,
        kind: &'static str,
        provider: &'static str,
        poll: PollConfig,
        job: Box<dyn RemoteJob>,
    ) -> Self {
        Self::build(Some(id), kind, provider, poll, Backend::Remote(job))
    }

    /// Runs `fut` in a spawned task; the job completes when it does.
    pub(crate) fn task(
        kind: &'static str,
        provider: &'static str,
        poll: PollConfig,
        fut: BoxFuture<'static, Result<ComputeOutput>>,
    ) -> Self {
        let handle = tokio::spawn(fut);
        let abort = handle.abort_handle();
        let result = async move {
            match handle.await {
                Ok(r) => r,
                Err(e) if e.is_cancelled() => {
                    Err(BlazenError::cancelled(provider, "job cancelled"))
                }
                Err(e) => Err(BlazenError::job_failed(
                    provider,
                    format!("job task failed: {e}"),
                )),
            }
        }
        .boxed()
        .shared();
        Self::build(None, kind, provider, poll, Backend::Task { result, abort })
    }

    fn build(
        id: Option<String>,
        kind: &'static str,
        provider: &'static str,
        poll: PollConfig,
        backend: Backend,
    ) -> Self {
        let (cancel_tx, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                id,
                kind,
                provider,
                submitted: Instant::now(),
                poll,
                cancel_tx,
                backend,
                last: Mutex::new(None),
            }),
        }
    }

    /// The provider's job id (fal's request id), when it has one.
    pub fn id(&self) -> Option<&str> {
        self.inner.id.as_deref()
    }

    /// The job kind (`"image"`, `"video"`, `"speech"`, ...).
    pub fn kind(&self) -> &str {
        self.inner.kind
    }

    /// The provider running the job.
    pub fn provider(&self) -> &str {
        self.inner.provider
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.inner.cancel_tx.borrow()
    }

    /// The progress seen by the last poll, if any.
    pub fn last_progress(&self) -> Option<JobProgress> {
        self.inner.last.lock().ok().and_then(|g| g.clone())
    }

    fn cancelled_error(&self) -> BlazenError {
        BlazenError::cancelled(self.inner.provider, "job cancelled")
    }

    async fn until_cancelled(&self) {
        let mut rx = self.inner.cancel_tx.subscribe();
        // `wait_for` only fails when the sender is gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Asks the provider for the job's status once.
    ///
    /// # Errors
    /// The provider's errors (auth, network, ...).
    pub async fn status(&self) -> Result<JobProgress> {
        let elapsed = self.inner.submitted.elapsed();
        let progress = match &self.inner.backend {
            _ if self.is_cancelled() => JobProgress {
                status: JobStatus::Cancelled,
                queue_position: None,
                logs: Vec::new(),
                error: None,
                polls: 0,
                elapsed,
            },
            Backend::Remote(job) => {
                let s = job.status().await?;
                JobProgress {
                    status: s.status,
                    queue_position: s.queue_position,
                    logs: s.logs,
                    error: s.error,
                    polls: 1,
                    elapsed,
                }
            }
            Backend::Task { result, .. } => {
                let (status, error) = match result.peek() {
                    None => (JobStatus::Running, None),
                    Some(Ok(_)) => (JobStatus::Completed, None),
                    Some(Err(e)) => (JobStatus::Failed, Some(e.to_string())),
                };
                JobProgress {
                    status,
                    queue_position: None,
                    logs: Vec::new(),
                    error,
                    polls: 0,
                    elapsed,
                }
            }
        };
        Ok(progress)
    }

    /// Cancels the job: asks the provider to stop it and makes every [`wait`](Self::wait) of
    /// this job (and its clones) return a Cancelled error. Returns `false` when the provider
    /// says the job had already completed.
    ///
    /// # Errors
    /// The provider's errors when the cancel request itself fails.
    pub async fn cancel(&self) -> Result<bool> {
        self.inner.cancel_tx.send_replace(true);
        match &self.inner.backend {
            Backend::Remote(job) => job.cancel().await,
            Backend::Task { result, abort } => {
                let done = result.peek().is_some();
                abort.abort();
                Ok(!done)
            }
        }
    }

    /// Waits for the job and returns its output.
    ///
    /// # Errors
    /// JobFailed when the provider reports a failure, Cancelled after [`cancel`](Self::cancel),
    /// Timeout after the poll deadline, QuotaExceeded, Auth, ... from the provider.
    pub async fn wait(&self) -> Result<ComputeOutput> {
        self.wait_with(|_| {}).await
    }

    /// [`wait`](Self::wait), calling `on_progress` after every status poll.
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub async fn wait_with<F>(&self, mut on_progress: F) -> Result<ComputeOutput>
    where
        F: FnMut(&JobProgress) + Send,
    {
        if self.is_cancelled() {
            return Err(self.cancelled_error());
        }
        match &self.inner.backend {
            Backend::Task { result, .. } => {
                let r = tokio::select! {
                    r = result.clone() => r,
                    () = self.until_cancelled() => return Err(self.cancelled_error()),
                };
                // A synchronous job has one observable step: its end.
                let (status, error) = match &r {
                    Ok(_) => (JobStatus::Completed, None),
                    Err(e) => (JobStatus::Failed, Some(e.to_string())),
                };
                let progress = JobProgress {
                    status,
                    queue_position: None,
                    logs: Vec::new(),
                    error,
                    polls: 0,
                    elapsed: self.inner.submitted.elapsed(),
                };
                on_progress(&progress);
                if let Ok(mut last) = self.inner.last.lock() {
                    *last = Some(progress);
                }
                r
            }
            Backend::Remote(job) => self.poll_remote(job.as_ref(), &mut on_progress).await,
        }
    }

    async fn poll_remote<F>(
        &self,
        job: &dyn RemoteJob,
        on_progress: &mut F,
    ) -> Result<ComputeOutput>
    where
        F: FnMut(&JobProgress) + Send,
    {
        let poll = self.inner.poll;
        let submitted = self.inner.submitted;
        let deadline = submitted + poll.timeout;
        let mut interval = poll.initial_interval;
        let mut polls: u32 = 0;
        let mut running_since: Option<Instant> = None;
        let mut logs: Vec<String> = Vec::new();
        loop {
            let status = tokio::select! {
                s = job.status() => s?,
                () = self.until_cancelled() => return Err(self.cancelled_error()),
            };
            polls = polls.saturating_add(1);
            let now = Instant::now();
            if matches!(status.status, JobStatus::Running | JobStatus::Completed)
                && running_since.is_none()
            {
                running_since = Some(now);
            }
            // fal sends the whole log each time; keep the longest view.
            if status.logs.len() >= logs.len() {
                logs.clone_from(&status.logs);
            }
            let progress = JobProgress {
                status: status.status,
                queue_position: status.queue_position,
                logs: logs.clone(),
                error: status.error.clone(),
                polls,
                elapsed: now - submitted,
            };
            on_progress(&progress);
            if let Ok(mut last) = self.inner.last.lock() {
                *last = Some(progress);
            }
            match status.status {
                JobStatus::Completed => {
                    if let Some(err) = status.error {
                        return Err(BlazenError::job_failed(self.inner.provider, err));
                    }
                    let queue_ms = running_since.map(|r| ms(r - submitted));
                    let timing = RequestTiming {
                        queue_ms,
                        execution_ms: status
                            .execution_ms
                            .or_else(|| running_since.map(|r| ms(now - r))),
                        total_ms: None,
                    };
                    let mut out = tokio::select! {
                        r = job.result(timing) => r?,
                        () = self.until_cancelled() => return Err(self.cancelled_error()),
                    };
                    set_total(&mut out, ms(submitted.elapsed()));
                    return Ok(out);
                }
                JobStatus::Failed => {
                    return Err(BlazenError::job_failed(
                        self.inner.provider,
                        status
                            .error
                            .unwrap_or_else(|| "the provider reported a failure".to_owned()),
                    ));
                }
                JobStatus::Cancelled => return Err(self.cancelled_error()),
                JobStatus::Queued | JobStatus::Running => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(BlazenError::timeout(now - submitted));
            }
            let wait = interval.min(deadline - now);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.until_cancelled() => return Err(self.cancelled_error()),
            }
            interval = poll.next_interval(interval);
        }
    }
}

fn set_total(out: &mut ComputeOutput, total: u64) {
    let job = match out {
        ComputeOutput::Image(o) | ComputeOutput::Upscale(o) => &mut o.job,
        ComputeOutput::Video(o) => &mut o.job,
        ComputeOutput::Speech(o) | ComputeOutput::Music(o) => &mut o.job,
        ComputeOutput::Transcription(o) => &mut o.job,
        ComputeOutput::ThreeD(o) => &mut o.job,
    };
    job.timing.total_ms = Some(total);
}

/// Sets the total time of a synchronous job's output.
pub(crate) fn with_total(mut out: ComputeOutput, total: u64) -> ComputeOutput {
    set_total(&mut out, total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::{GeneratedMedia, ImageOutput, JobInfo};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Queued for `polls_until_done` polls, then completed.
    #[derive(Debug)]
    struct Fake {
        polls_until_done: u32,
        polls: AtomicU32,
    }

    #[async_trait]
    impl RemoteJob for Fake {
        async fn status(&self) -> Result<RemoteStatus> {
            let n = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(RemoteStatus {
                status: if n >= self.polls_until_done {
                    JobStatus::Completed
                } else {
                    JobStatus::Queued
                },
                queue_position: None,
                logs: Vec::new(),
                error: None,
                execution_ms: None,
            })
        }
        async fn result(&self, timing: RequestTiming) -> Result<ComputeOutput> {
            Ok(ComputeOutput::Image(ImageOutput {
                images: vec![GeneratedMedia::from_url("https://x/a.png")],
                job: JobInfo {
                    timing,
                    ..JobInfo::default()
                },
            }))
        }
        async fn cancel(&self) -> Result<bool> {
            Ok(true)
        }
    }

    fn fake(polls_until_done: u32, poll: PollConfig) -> ComputeJob {
        let f = Fake {
            polls_until_done,
            polls: AtomicU32::new(0),
        };
        ComputeJob::remote("j".into(), "image", "fake", poll, Box::new(f))
    }

    #[tokio::test(start_paused = true)]
    async fn polls_back_off_exponentially_up_to_the_cap() {
        let job = fake(8, PollConfig::default());
        let mut seen = Vec::new();
        let out = job.wait_with(|p| seen.push(p.elapsed)).await.unwrap();
        assert!(matches!(out, ComputeOutput::Image(_)));
        assert_eq!(seen.len(), 8);
        // Intervals 500, 750, 1125, 1687.5, 2531.25, 3796.875 (the timer rounds up to whole
        // milliseconds), then capped at 5000 ms.
        let gaps: Vec<u128> = seen.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
        assert_eq!(gaps, vec![500, 750, 1125, 1688, 2532, 3797, 5000]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_deadline_is_a_timeout() {
        let poll = PollConfig {
            timeout: Duration::from_secs(60),
            ..PollConfig::default()
        };
        let job = fake(u32::MAX, poll);
        let err = job.wait().await.unwrap_err();
        assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
        assert!(job.last_progress().unwrap().elapsed <= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_wakes_a_waiter_sleeping_between_polls() {
        let job = fake(u32::MAX, PollConfig::default());
        let waiter = tokio::spawn({
            let job = job.clone();
            async move { job.wait().await }
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(job.cancel().await.unwrap());
        let err = waiter.await.unwrap().unwrap_err();
        assert!(matches!(err, BlazenError::Cancelled { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_task_job_can_be_cancelled_and_reports_its_status() {
        let job = ComputeJob::task(
            "speech",
            "fake",
            PollConfig::default(),
            async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(BlazenError::no_content("fake"))
            }
            .boxed(),
        );
        assert_eq!(job.status().await.unwrap().status, JobStatus::Running);
        assert!(job.cancel().await.unwrap());
        assert!(matches!(
            job.wait().await,
            Err(BlazenError::Cancelled { .. })
        ));
        assert_eq!(job.status().await.unwrap().status, JobStatus::Cancelled);

        let done = ComputeJob::task(
            "image",
            "fake",
            PollConfig::default(),
            async { Err(BlazenError::job_failed("fake", "boom")) }.boxed(),
        );
        assert!(matches!(
            done.wait().await,
            Err(BlazenError::JobFailed { .. })
        ));
        assert_eq!(done.status().await.unwrap().status, JobStatus::Failed);
    }
}
