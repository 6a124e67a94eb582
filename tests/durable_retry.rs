//! The attempt count is part of a checkpoint: a run that crashes while a step backs off
//! before its next attempt resumes with the attempts left, not a fresh budget.
//!
//! The crash is simulated as in `durable_checkpoint.rs`: the run's runtime is dropped
//! mid-run (its tasks vanish, as in a killed process) and the run is resumed from the
//! store's last checkpoint by another runtime.

#[allow(dead_code)]
#[path = "support/runtime.rs"]
mod rt;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen::prelude::*;
use rt::{ev, step};

/// A step that always fails, logging its attempts; at most 3 attempts, 60 s apart at first.
fn always_failing(log: Arc<Mutex<Vec<u32>>>) -> Step {
    step("call", move |ctx: Context, _s: StartEvent| {
        log.lock().unwrap().push(ctx.attempt());
        async move { Err::<StopEvent, _>(WorkflowError::msg("service down")) }
    })
    .emits(ev::<StopEvent>())
    .retry(RetryPolicy::exponential(3, Duration::from_secs(60)))
}

#[test]
fn a_crash_during_backoff_resumes_with_the_attempts_left() {
    let store = InMemoryStore::new();
    let log = Arc::new(Mutex::new(Vec::new()));

    // The first process: runs until the step backs off before attempt 2, then dies.
    let run_id = {
        let store = store.clone();
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let run_id = runtime.block_on(async {
                let wf = Workflow::builder("retrying")
                    .step(always_failing(log))
                    .checkpoint(store.clone())
                    .build()
                    .unwrap();
                let handler = wf.run(json!({})).await.unwrap();
                loop {
                    if let Some(snap) = store.load(handler.run_id()).await.unwrap() {
                        if snap.in_flight.first().is_some_and(|e| e.attempt == 2) {
                            break handler.run_id();
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            });
            drop(runtime); // the crash: every task of the run vanishes mid-backoff
            run_id
        })
        .join()
        .unwrap()
    };
    assert_eq!(
        *log.lock().unwrap(),
        [1],
        "crashed before the second attempt"
    );

    // The second process resumes: attempts 2 and 3 only, then the run fails.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let wf = Workflow::builder("retrying")
            .step(always_failing(Arc::clone(&log)))
            .checkpoint(store.clone())
            .build()
            .unwrap();
        let handler = wf.resume_from(&store, run_id).await.unwrap();
        let err = handler.result().await.unwrap_err();
        assert!(err.to_string().contains("service down"), "{err}");
    });
    assert_eq!(
        *log.lock().unwrap(),
        [1, 2, 3],
        "the attempts continue: no fresh budget"
    );
}

#[test]
fn old_snapshots_without_an_attempt_load_as_the_first() {
    let text = format!(
        r#"{{"format_version":1,"workflow":"w","fingerprint":"f","run_id":"{}","status":"running","created_at_ms":5,
            "in_flight":[{{"event_type":"blazen::StartEvent","data":{{"data":null}},"target_step":"call"}}]}}"#,
        uuid::Uuid::new_v4()
    );
    let snap = WorkflowSnapshot::from_json(&text).unwrap();
    assert_eq!(snap.in_flight[0].attempt, 0);
    // And a first attempt is not written out.
    assert!(!snap.to_json().unwrap().contains("attempt"));
}
