//! `retry = ..` and `timeout = ..` take any expression of their types: calls, builder
//! chains, constants (also by a `self::` path), blocks.
use blazen::prelude::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);

fn policy() -> RetryPolicy {
    RetryPolicy::constant(2, Duration::from_millis(10))
}

#[step(retry = RetryPolicy::exponential(3, Duration::from_millis(100)), timeout = Duration::from_secs(5))]
async fn both(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(
    retry = RetryPolicy::exponential(4, Duration::from_millis(100))
        .max_delay(Duration::from_secs(1))
        .retry_if(|err: &WorkflowError| !err.to_string().contains("invalid")),
    timeout = self::LIMIT,
    max_concurrency = 2
)]
async fn chained(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(retry = policy())]
fn retry_only(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

#[step(timeout = { LIMIT * 2 })]
fn timeout_only(_ev: StartEvent) -> StopEvent {
    StopEvent::default()
}

fn main() {
    assert_eq!(both::step().step_timeout(), Some(Duration::from_secs(5)));
    assert_eq!(chained::step().step_timeout(), Some(LIMIT));
    assert_eq!(chained::step().concurrency_limit(), 2);
    assert_eq!(retry_only::step().step_timeout(), None);
    assert_eq!(timeout_only::step().step_timeout(), Some(LIMIT * 2));
    assert_eq!(both::step().retry_policy().map(RetryPolicy::max_attempts), Some(3));
    assert_eq!(chained::step().retry_policy().map(RetryPolicy::max_attempts), Some(4));
    assert_eq!(retry_only::step().retry_policy().map(RetryPolicy::max_attempts), Some(2));
    assert!(timeout_only::step().retry_policy().is_none());
}
