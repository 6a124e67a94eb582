//! Retry, cache and fallback middleware against a local server: Retry-After honoured (delays
//! asserted on paused tokio time), 503s until the final error with its attempt count, budget
//! exhaustion not retried, streams retried and fallen back only before their first chunk,
//! fallback only on errors the next model can fix, single-flight cache.

#[allow(dead_code)]
mod support;

use std::time::Duration;

use blazen_providers::{
    BlazenError, CacheConfig, ChatMessage, CompletionModel, CompletionRequest, CompletionResponse,
    RetryConfig,
};
use futures::StreamExt;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-key-0123456789";

fn ok_body(text: &str) -> serde_json::Value {
    json!({"model": "gpt-4.1-mini", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
}

fn sse_ok(text: &str) -> String {
    format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    )
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    json!({"error": {"message": message, "type": "error", "code": code}})
}

fn fast_retry(max_retries: u32) -> RetryConfig {
    RetryConfig {
        max_retries,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(30),
    }
}

fn msgs() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

fn model(server: &MockServer) -> CompletionModel {
    CompletionModel::openai(KEY).with_base_url(server.uri())
}

async fn mount_once(server: &MockServer, template: ResponseTemplate) {
    Mock::given(method("POST"))
        .respond_with(template)
        .up_to_n_times(1)
        .mount(server)
        .await;
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// A real error, as the client builds it from a real HTTP response.
async fn real_error(template: ResponseTemplate) -> BlazenError {
    let server = MockServer::start().await;
    mount_once(&server, template).await;
    model(&server).complete(&msgs()).await.unwrap_err()
}

use support::scripted_provider::ScriptedProvider;

fn answer(text: &str) -> CompletionResponse {
    support::scripted_provider::answer("scripted-1", text)
}

// ---------- retry ----------

#[tokio::test]
async fn retry_after_seconds_is_waited_exactly_on_paused_time() {
    let rate_limited = real_error(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "2")
            .set_body_json(error_body("rate_limit_exceeded", "slow down")),
    )
    .await;
    assert!(matches!(rate_limited, BlazenError::RateLimit { .. }));
    assert_eq!(rate_limited.retry_after(), Some(Duration::from_secs(2)));

    let script = ScriptedProvider::new("scripted", vec![Err(rate_limited), Ok(answer("done"))]);
    let m = CompletionModel::from_provider(script.clone()).with_retry(RetryConfig::default());
    tokio::time::pause();
    let r = m.complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("done"));
    let times = script.times();
    assert_eq!(times.len(), 2);
    assert_waited(times[1] - times[0], Duration::from_secs(2));
}

#[tokio::test]
async fn retry_after_ms_and_http_date_are_honoured() {
    let ms = real_error(
        ResponseTemplate::new(429)
            .insert_header("retry-after-ms", "1500")
            .set_body_json(error_body("rate_limit_exceeded", "slow down")),
    )
    .await;
    let date = httpdate_in(Duration::from_secs(20));
    let dated = real_error(
        ResponseTemplate::new(503)
            .insert_header("retry-after", date.as_str())
            .set_body_json(error_body("model_unavailable", "busy")),
    )
    .await;
    let waited = dated.retry_after().expect("HTTP date read");
    assert!(waited > Duration::from_secs(17) && waited <= Duration::from_secs(20));

    let script = ScriptedProvider::new(
        "scripted",
        vec![Err(ms), Err(dated.clone()), Ok(answer("ok"))],
    );
    let m = CompletionModel::from_provider(script.clone()).with_retry(RetryConfig::default());
    tokio::time::pause();
    m.complete(&msgs()).await.unwrap();
    let t = script.times();
    assert_waited(t[1] - t[0], Duration::from_millis(1500));
    assert_waited(t[2] - t[1], waited);
}

/// The wait equals `want` up to tokio's timer resolution (sleeps end on the next millisecond).
fn assert_waited(got: Duration, want: Duration) {
    assert!(
        got >= want && got <= want + Duration::from_millis(2),
        "waited {got:?}, expected {want:?}"
    );
}

fn httpdate_in(d: Duration) -> String {
    // RFC 7231 IMF-fixdate, computed by hand to avoid a test dependency.
    let secs = (std::time::SystemTime::now() + d)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = secs / 86400;
    let (h, m, s) = ((secs % 86400) / 3600, (secs % 3600) / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {mon} {year} {h:02}:{m:02}:{s:02} GMT")
}

#[tokio::test]
async fn backoff_grows_exponentially_on_paused_time() {
    let unavailable = real_error(
        ResponseTemplate::new(503).set_body_json(error_body("model_unavailable", "busy")),
    )
    .await;
    assert!(unavailable.retry_after().is_none());
    let script = ScriptedProvider::new(
        "scripted",
        vec![
            Err(unavailable.clone()),
            Err(unavailable.clone()),
            Err(unavailable.clone()),
            Ok(answer("ok")),
        ],
    );
    let m = CompletionModel::from_provider(script.clone()).with_retry(RetryConfig::default());
    tokio::time::pause();
    m.complete(&msgs()).await.unwrap();
    assert_eq!(script.calls(), 4);
    let t = script.times();
    for (i, base) in [1u64, 2, 4].into_iter().enumerate() {
        let gap = t[i + 1] - t[i];
        let base = Duration::from_secs(base);
        // tokio's timer wheel has millisecond resolution and rounds a deadline up, so a
        // jittered delay of exactly `base` can be observed as `base + 1ms`.
        let slack = Duration::from_millis(2);
        assert!(gap >= base / 2 && gap <= base + slack, "retry {i}: {gap:?}");
    }
}

#[tokio::test]
async fn rate_limited_then_success_end_to_end() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_json(error_body("rate_limit_exceeded", "slow down")),
    )
    .await;
    mount_once(
        &server,
        ResponseTemplate::new(200).set_body_json(ok_body("hello")),
    )
    .await;
    let started = std::time::Instant::now();
    let r = model(&server)
        .with_retry(RetryConfig::default())
        .complete(&msgs())
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("hello"));
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn three_503s_then_the_final_error_with_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(error_body("model_unavailable", "no capacity")),
        )
        .mount(&server)
        .await;
    let err = model(&server)
        .with_retry(fast_retry(2))
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(hits(&server).await, 3);
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), Some("model_unavailable"));
    assert_eq!(err.attempts(), Some(3));
    assert!(err.to_string().contains("3 attempts"), "{err}");
}

#[tokio::test]
async fn budget_exhausted_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(error_body("budget_exhausted", "monthly budget exhausted")),
        )
        .mount(&server)
        .await;
    let err = model(&server)
        .with_retry(fast_retry(3))
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(hits(&server).await, 1);
    assert!(matches!(err, BlazenError::QuotaExceeded { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.attempts(), Some(1));
}

#[tokio::test]
async fn validation_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(error_body("context_length_exceeded", "too long")),
        )
        .mount(&server)
        .await;
    let err = model(&server)
        .with_retry(fast_retry(3))
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(hits(&server).await, 1);
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
}

#[tokio::test]
async fn stream_is_retried_before_its_first_chunk() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        ResponseTemplate::new(503).set_body_json(error_body("model_unavailable", "busy")),
    )
    .await;
    mount_once(
        &server,
        ResponseTemplate::new(200).set_body_raw(sse_ok("streamed"), "text/event-stream"),
    )
    .await;
    let chunks: Vec<_> = model(&server)
        .with_retry(fast_retry(3))
        .stream(&msgs())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(hits(&server).await, 2);
    assert_eq!(
        chunks[0].as_ref().unwrap().delta.as_deref(),
        Some("streamed")
    );
}

#[tokio::test]
async fn stream_is_not_retried_after_its_first_chunk() {
    let server = MockServer::start().await;
    let truncated = format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": null}]})
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(truncated, "text/event-stream"))
        .mount(&server)
        .await;
    let items: Vec<_> = model(&server)
        .with_retry(fast_retry(3))
        .stream(&msgs())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(hits(&server).await, 1);
    assert_eq!(items[0].as_ref().unwrap().delta.as_deref(), Some("partial"));
    assert!(items[1].is_err());
}

// ---------- fallback ----------

#[tokio::test]
async fn fallback_on_unavailable_but_not_on_request_errors() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(error_body("model_unavailable", "down")),
        )
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body("from backup")))
        .mount(&backup)
        .await;
    let m = CompletionModel::with_fallback(vec![model(&primary), model(&backup)]);
    let r = m.complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("from backup"));
    assert_eq!((hits(&primary).await, hits(&backup).await), (1, 1));

    // Streams fall back before their first chunk too.
    let backup_stream = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(sse_ok("backup stream"), "text/event-stream"),
        )
        .mount(&backup_stream)
        .await;
    let m = CompletionModel::with_fallback(vec![model(&primary), model(&backup_stream)]);
    let first = m
        .stream(&msgs())
        .await
        .unwrap()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.delta.as_deref(), Some("backup stream"));

    // An error of the request itself fails on every model: no fallback.
    let invalid = MockServer::start().await;
    let untouched = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(error_body("content_filtered", "refused by the filter")),
        )
        .mount(&invalid)
        .await;
    let m = CompletionModel::with_fallback(vec![model(&invalid), model(&untouched)]);
    let err = m.complete(&msgs()).await.unwrap_err();
    assert!(matches!(err, BlazenError::ContentPolicy { .. }), "{err:?}");
    assert_eq!(hits(&untouched).await, 0);
}

#[tokio::test]
async fn fallback_returns_the_last_error_when_all_fail() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    for (s, code) in [(&a, "model_unavailable"), (&b, "upstream_timeout")] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503).set_body_json(error_body(code, "x")))
            .mount(s)
            .await;
    }
    let err = CompletionModel::with_fallback(vec![model(&a), model(&b)])
        .complete(&msgs())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("upstream_timeout"));
    let err = CompletionModel::with_fallback(vec![])
        .complete(&msgs())
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }));
}

// ---------- cache ----------

#[tokio::test]
async fn cache_single_flight_and_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(ok_body("cached"))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let m = model(&server).with_cache(CacheConfig::default());
    let calls = (0..20).map(|_| {
        let m = m.clone();
        tokio::spawn(async move { m.complete(&msgs()).await })
    });
    let results = futures::future::join_all(calls).await;
    for r in results {
        assert_eq!(r.unwrap().unwrap().content.as_deref(), Some("cached"));
    }
    assert_eq!(
        hits(&server).await,
        1,
        "concurrent identical misses: one call"
    );

    // A hit later, and a miss for anything that changes the answer.
    m.complete(&msgs()).await.unwrap();
    assert_eq!(hits(&server).await, 1);
    let req = CompletionRequest::new(msgs());
    m.complete_with(req.clone().temperature(0.5)).await.unwrap();
    m.complete_with(req.clone().model("gpt-4o")).await.unwrap();
    m.complete_with(req.clone().max_tokens(5)).await.unwrap();
    m.complete_with(req.clone().tool_choice(blazen_providers::ToolChoice::None))
        .await
        .unwrap();
    m.complete(&[ChatMessage::user("other")]).await.unwrap();
    assert_eq!(hits(&server).await, 6);

    // Streams are not cached.
    let streaming = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse_ok("s"), "text/event-stream"))
        .mount(&streaming)
        .await;
    let m = model(&streaming).with_cache(CacheConfig::default());
    for _ in 0..2 {
        let _: Vec<_> = m.stream(&msgs()).await.unwrap().collect().await;
    }
    assert_eq!(hits(&streaming).await, 2);
}

#[tokio::test]
async fn cache_does_not_keep_errors_and_composes_with_retry() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        ResponseTemplate::new(500).set_body_json(error_body("internal_error", "oops")),
    )
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body("fine")))
        .mount(&server)
        .await;
    // First added is outermost: the cache answers before the retry layer is reached.
    let m = model(&server)
        .with_cache(CacheConfig::default())
        .with_retry(fast_retry(2));
    assert_eq!(
        m.complete(&msgs()).await.unwrap().content.as_deref(),
        Some("fine")
    );
    assert_eq!(hits(&server).await, 2);
    m.complete(&msgs()).await.unwrap();
    assert_eq!(hits(&server).await, 2);
    assert_eq!(m.model_id(), "gpt-4.1-mini");
}

#[tokio::test]
async fn cache_entries_expire_after_their_ttl() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body("fresh")))
        .mount(&server)
        .await;
    let m = model(&server).with_cache(CacheConfig {
        ttl: Duration::from_millis(200),
        max_entries: 10,
    });
    m.complete(&msgs()).await.unwrap();
    m.complete(&msgs()).await.unwrap();
    assert_eq!(hits(&server).await, 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    m.complete(&msgs()).await.unwrap();
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn with_model_and_with_base_url_reach_through_middleware() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body("through")))
        .mount(&server)
        .await;
    let m = CompletionModel::openai(KEY)
        .with_cache(CacheConfig::default())
        .with_retry(fast_retry(1))
        .with_model("gpt-4o")
        .with_base_url(server.uri());
    assert_eq!(m.model_id(), "gpt-4o");
    let r = m.complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("through"));
    let body: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["model"], "gpt-4o");
}
