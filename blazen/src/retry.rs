//! [`RetryPolicy`]: how often a failing step runs again, after how long, and for which errors.
//!
//! Retries happen inside the step's execution: the router sees only the final outcome, and
//! the step keeps its concurrency permit while it backs off (a step limited to `n` instances
//! never has more than `n` attempts running or waiting at once). Each retry is a `tracing`
//! event (`WARN`, target `blazen::retry`: step, attempt, delay, error). In a checkpointing
//! run, a checkpoint is saved when the backoff starts, holding the next attempt's number with
//! the in-flight event: a crash during the backoff resumes with the attempts left, not a
//! fresh budget. The workflow timeout bounds all attempts together; a step timeout bounds
//! each attempt.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::WorkflowError;
use crate::event::Event;

/// Which errors are worth another attempt.
type RetryIf = Arc<dyn Fn(&WorkflowError) -> bool + Send + Sync>;

/// How a step is retried: the number of attempts, the delay before each retry, and which
/// errors are worth one.
///
/// The predicate ([`retry_if`](Self::retry_if)) sees the step's own error, or
/// [`WorkflowError::Panic`] / [`WorkflowError::Timeout`] for a panic or a step timeout. By
/// default every failure is retried.
///
/// ```
/// use blazen::prelude::*;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::exponential(4, Duration::from_millis(100))
///     .max_delay(Duration::from_millis(250))
///     .retry_if(|err: &WorkflowError| !err.to_string().contains("invalid"));
/// assert_eq!(policy.max_attempts(), 4);
/// assert_eq!(policy.delay_before(2), Duration::from_millis(100)); // before the 2nd attempt
/// assert_eq!(policy.delay_before(3), Duration::from_millis(200));
/// assert_eq!(policy.delay_before(4), Duration::from_millis(250)); // capped
/// assert!(!policy.retries(&WorkflowError::msg("invalid input")));
///
/// let constant = RetryPolicy::constant(3, Duration::from_secs(1));
/// assert_eq!(constant.delay_before(3), Duration::from_secs(1));
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    exponential: bool,
    max_delay: Option<Duration>,
    jitter: f64,
    retry_if: Option<RetryIf>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base", &self.base)
            .field("exponential", &self.exponential)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("retry_if", &self.retry_if.is_some())
            .finish()
    }
}

impl RetryPolicy {
    /// At most `max_attempts` attempts (the first included), waiting `base_delay` before
    /// the second, then twice as long before each next one.
    pub fn exponential(max_attempts: u32, base_delay: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: base_delay,
            exponential: true,
            max_delay: None,
            jitter: 0.0,
            retry_if: None,
        }
    }

    /// At most `max_attempts` attempts (the first included), waiting `delay` before each
    /// retry.
    pub fn constant(max_attempts: u32, delay: Duration) -> Self {
        RetryPolicy {
            exponential: false,
            ..RetryPolicy::exponential(max_attempts, delay)
        }
    }

    /// Never waits longer than `max` before a retry.
    #[must_use]
    pub fn max_delay(mut self, max: Duration) -> Self {
        self.max_delay = Some(max);
        self
    }

    /// Shortens each delay by a random part of up to `fraction` of it (0.0 to 1.0; e.g.
    /// 0.5 waits between half and all of the delay), so that many runs failing together do
    /// not retry together.
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Retries only the errors for which `predicate` is true (retry only what can help:
    /// not a validation error).
    #[must_use]
    pub fn retry_if(
        mut self,
        predicate: impl Fn(&WorkflowError) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.retry_if = Some(Arc::new(predicate));
        self
    }

    /// The most attempts, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether the policy retries `err` (attempts left aside).
    pub fn retries(&self, err: &WorkflowError) -> bool {
        self.retry_if.as_ref().is_none_or(|f| f(err))
    }

    /// The delay before attempt `attempt` (2 for the first retry), without jitter.
    pub fn delay_before(&self, attempt: u32) -> Duration {
        let retry = attempt.saturating_sub(2).min(31);
        let delay = if self.exponential {
            self.base.saturating_mul(1u32 << retry)
        } else {
            self.base
        };
        match self.max_delay {
            Some(max) => delay.min(max),
            None => delay,
        }
    }

    /// The delay before attempt `attempt`, jitter applied.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let delay = self.delay_before(attempt);
        if self.jitter == 0.0 {
            return delay;
        }
        // Randomness, not secrecy: 53 random bits of a v4 uuid.
        let random = (uuid::Uuid::new_v4().as_u64_pair().1 >> 11) as f64 / (1u64 << 53) as f64;
        delay.mul_f64(1.0 - self.jitter * random)
    }
}

/// An in-flight event restored from a snapshot with the attempt its step was at (above 1):
/// routed as the event it wraps; the runner unwraps it for a step with a retry policy (any
/// other step decodes it through its JSON, as a restored event).
#[derive(Debug)]
pub(crate) struct ResumedAttempt {
    pub(crate) event: Box<dyn Event>,
    pub(crate) attempt: u32,
}

impl Event for ResumedAttempt {
    fn event_type(&self) -> &str {
        self.event.event_type()
    }
    fn to_json(&self) -> serde_json::Value {
        self.event.to_json()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync> {
        self
    }
    fn clone_event(&self) -> Box<dyn Event> {
        Box::new(ResumedAttempt {
            event: self.event.clone_event(),
            attempt: self.attempt,
        })
    }
}
