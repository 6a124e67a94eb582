//! Step retry policies: attempts, backoff delays (paused time), the predicate, the bound of
//! the workflow timeout, and `StepFailed` carrying the attempts made.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen::prelude::*;
use blazen::IntoStepOutput;
use rt::{ev, step, Num};
use tokio::time::Instant;

/// A step that fails `failures` times (recording when each attempt started, relative to
/// `t0`), then stops the run with the attempt number.
fn flaky(failures: u32, policy: RetryPolicy, log: Arc<Mutex<Vec<(u32, Duration)>>>) -> Step {
    let t0 = Instant::now();
    step("flaky", move |ctx: Context, _s: StartEvent| {
        let log = Arc::clone(&log);
        async move {
            log.lock().unwrap().push((ctx.attempt(), t0.elapsed()));
            if ctx.attempt() <= failures {
                return Err(WorkflowError::msg(format!(
                    "busy (attempt {})",
                    ctx.attempt()
                )));
            }
            Ok(StopEvent::new(json!(ctx.attempt())))
        }
    })
    .emits(ev::<StopEvent>())
    .retry(policy)
}

#[tokio::test(start_paused = true)]
async fn a_step_failing_twice_succeeds_on_the_third_attempt_after_100_then_200ms() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let policy = RetryPolicy::exponential(3, Duration::from_millis(100));
    let wf = Workflow::builder("retry")
        .step(flaky(2, policy, Arc::clone(&log)))
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(3));
    let log = log.lock().unwrap().clone();
    let attempts: Vec<u32> = log.iter().map(|(a, _)| *a).collect();
    assert_eq!(attempts, [1, 2, 3]);
    // Paused time: the delays are exact.
    assert_eq!(log[1].1 - log[0].1, Duration::from_millis(100));
    assert_eq!(log[2].1 - log[1].1, Duration::from_millis(200));
}

/// Runs `flaky(failures, policy)` to its end; the time between its attempts.
async fn gaps(failures: u32, policy: RetryPolicy) -> Vec<Duration> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = Workflow::builder("gaps")
        .step(flaky(failures, policy, Arc::clone(&log)))
        .build()
        .unwrap();
    wf.run(json!({})).await.unwrap().result().await.unwrap();
    let log = log.lock().unwrap();
    log.windows(2).map(|w| w[1].1 - w[0].1).collect()
}

#[tokio::test(start_paused = true)]
async fn max_delay_caps_and_constant_keeps_the_delay() {
    let capped = RetryPolicy::exponential(4, Duration::from_millis(100))
        .max_delay(Duration::from_millis(150));
    assert_eq!(
        gaps(3, capped).await,
        [100, 150, 150].map(Duration::from_millis)
    );
    let constant = RetryPolicy::constant(3, Duration::from_millis(40));
    assert_eq!(gaps(2, constant).await, [40, 40].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn jitter_only_shortens_the_delay() {
    let policy = RetryPolicy::constant(6, Duration::from_millis(100)).jitter(0.5);
    for gap in gaps(5, policy).await {
        assert!(
            gap >= Duration::from_millis(50) && gap <= Duration::from_millis(100),
            "{gap:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_predicate_refuses_to_retry_a_validation_error() {
    let runs = Arc::new(Mutex::new(0u32));
    let counted = Arc::clone(&runs);
    let policy = RetryPolicy::exponential(5, Duration::from_millis(10))
        .retry_if(|err: &WorkflowError| !err.to_string().starts_with("invalid"));
    let wf = Workflow::builder("validate")
        .step(
            step("validate", move |_ctx: Context, _s: StartEvent| {
                *counted.lock().unwrap() += 1;
                async { Err::<StopEvent, _>(WorkflowError::msg("invalid input: no prompt")) }
            })
            .emits(ev::<StopEvent>())
            .retry(policy),
        )
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(
        matches!(&err, WorkflowError::Step { step, .. } if step == "validate"),
        "{err:?}"
    );
    assert_eq!(
        *runs.lock().unwrap(),
        1,
        "a validation error is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_used_up_fail_the_run_with_the_last_error() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = Workflow::builder("exhausted")
        .step(flaky(
            9,
            RetryPolicy::constant(3, Duration::from_millis(5)),
            Arc::clone(&log),
        ))
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(err.to_string().contains("busy (attempt 3)"), "{err}");
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn panics_and_step_timeouts_are_retried_too() {
    let wf = Workflow::builder("panicky")
        .step(
            step("panicky", |ctx: Context, _s: StartEvent| async move {
                match ctx.attempt() {
                    1 => panic!("first try panics"),
                    2 => {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        StopEvent::new(json!("too late"))
                    }
                    n => StopEvent::new(json!(n)),
                }
            })
            .emits(ev::<StopEvent>())
            .timeout(Duration::from_secs(1))
            .retry(RetryPolicy::constant(3, Duration::from_millis(1))),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(stop.result, json!(3));
}

/// A handler that panics while it makes its future (not in it) fails its attempt as a
/// panic, retried like the others, as a step without a retry policy would catch it.
#[tokio::test(start_paused = true)]
async fn a_handler_panicking_before_its_future_exists_is_retried_too() {
    let wf = Workflow::builder("eager")
        .step(
            Step::new("eager", |ctx: Context, _ev| {
                let attempt = ctx.attempt();
                assert!(attempt > 1, "the first try panics at once");
                async move { StopEvent::new(json!(attempt)).into_step_output() }
            })
            .accepts(ev::<StartEvent>())
            .emits(ev::<StopEvent>())
            .retry(RetryPolicy::constant(2, Duration::from_millis(1))),
        )
        .build()
        .unwrap();
    let handler = wf.run(json!({})).await.unwrap();
    let stop = tokio::time::timeout(Duration::from_secs(5), handler.result())
        .await
        .expect("the panic is caught, the run does not hang")
        .unwrap();
    assert_eq!(stop.result, json!(2));
}

#[tokio::test(start_paused = true)]
async fn the_workflow_timeout_bounds_all_attempts() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let policy = RetryPolicy::constant(100, Duration::from_secs(1));
    let wf = Workflow::builder("bounded")
        .step(flaky(1_000, policy, Arc::clone(&log)))
        .timeout(Duration::from_millis(3_500))
        .build()
        .unwrap();
    let err = wf.run(json!({})).await.unwrap().result().await.unwrap_err();
    assert!(matches!(err, WorkflowError::Timeout { .. }), "{err:?}");
    // Attempts at 0, 1, 2 and 3 s; the run ended at 3.5 s.
    assert_eq!(log.lock().unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_step_failing_for_good_reports_its_attempts_in_step_failed() {
    let wf = Workflow::builder("recovered")
        .step(
            step("fetch", |_ctx: Context, _s: StartEvent| async move {
                Err::<Num, _>(WorkflowError::msg("down"))
            })
            .emits(ev::<Num>())
            .retry(RetryPolicy::constant(3, Duration::from_millis(5))),
        )
        .step(
            step("use", |_ctx: Context, n: Num| async move {
                StopEvent::new(json!(n.n))
            })
            .emits(ev::<StopEvent>()),
        )
        .step(
            step("fallback", |_ctx: Context, f: StepFailed| async move {
                StopEvent::new(json!({"step": f.step, "attempts": f.attempts, "error": f.error}))
            })
            .emits(ev::<StopEvent>()),
        )
        .build()
        .unwrap();
    let stop = wf.run(json!({})).await.unwrap().result().await.unwrap();
    assert_eq!(
        stop.result,
        json!({"step": "fetch", "attempts": 3, "error": "down"})
    );
}
