//! `#[step(retry = .., timeout = ..)]`: the macro's options reach the run-time step.

use std::sync::Mutex;
use std::time::Duration;

use blazen::prelude::*;
use tokio::time::Instant;

/// When each attempt of `flaky` started.
static ATTEMPTS: Mutex<Vec<(u32, Instant)>> = Mutex::new(Vec::new());

#[step(retry = RetryPolicy::exponential(3, Duration::from_millis(100)))]
async fn flaky(ctx: &Context, _ev: StartEvent) -> Result<StopEvent, WorkflowError> {
    ATTEMPTS
        .lock()
        .unwrap()
        .push((ctx.attempt(), Instant::now()));
    if ctx.attempt() <= 2 {
        return Err(WorkflowError::msg(format!(
            "busy (attempt {})",
            ctx.attempt()
        )));
    }
    Ok(StopEvent::new(json!(ctx.attempt())))
}

#[tokio::test(start_paused = true)]
async fn a_retry_option_runs_a_step_failing_twice_until_its_third_attempt() {
    let wf = workflow!("retry_option", [flaky]);
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(3));
    let log = ATTEMPTS.lock().unwrap().clone();
    let attempts: Vec<u32> = log.iter().map(|(a, _)| *a).collect();
    assert_eq!(attempts, [1, 2, 3]);
    // Paused time: the exponential delays are exact.
    assert_eq!(log[1].1 - log[0].1, Duration::from_millis(100));
    assert_eq!(log[2].1 - log[1].1, Duration::from_millis(200));
}

/// The timeout as a constant of the user's module, named by a relative path.
const SLOW_LIMIT: Duration = Duration::from_millis(50);

#[step(timeout = self::SLOW_LIMIT)]
async fn slow(_ev: StartEvent) -> StopEvent {
    tokio::time::sleep(Duration::from_secs(30)).await;
    StopEvent::default()
}

#[tokio::test(start_paused = true)]
async fn a_timeout_option_ends_a_slow_step() {
    let wf = workflow!("timeout_option", [slow]);
    let t0 = Instant::now();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert_eq!(t0.elapsed(), SLOW_LIMIT, "paused time: the limit exactly");
    match err {
        WorkflowError::Timeout { what, .. } => assert!(what.contains("slow"), "{what}"),
        other => panic!("{other:?}"),
    }
}

#[step(
    retry = RetryPolicy::constant(2, Duration::from_millis(1)),
    timeout = Duration::from_secs(1)
)]
async fn late_once(ctx: &Context, _ev: StartEvent) -> StopEvent {
    if ctx.attempt() == 1 {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    StopEvent::new(json!(ctx.attempt()))
}

#[tokio::test(start_paused = true)]
async fn both_options_together_retry_an_attempt_that_timed_out() {
    let wf = workflow!("both_options", [late_once]);
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(2));
}
