//! `with_timeout` on `CompletionModel` and `EmbeddingModel`: what it bounds (the whole of
//! `complete`, the start of a stream, the whole of `embed`), the error it gives (Timeout,
//! provider name, "timed out after Nms", retryable) and how it composes with retry and
//! fallback. Delays run on paused tokio time with a scripted provider, and in real time against
//! a local server that answers late.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use blazen_providers::{
    BlazenError, ChatMessage, ChunkStream, CompletionModel, CompletionRequest, CompletionResponse,
    EmbeddingModel, Provider, RetryConfig, StreamChunk,
};
use futures::StreamExt;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One scripted call: how long the provider takes before answering (or, for a stream, before
/// each chunk), and the text it answers.
#[derive(Debug, Clone)]
struct Step {
    /// Delay before the answer (complete) or before each chunk (stream).
    delays: Vec<Duration>,
    text: &'static str,
}

fn slow(ms: u64, text: &'static str) -> Step {
    Step {
        delays: vec![Duration::from_millis(ms)],
        text,
    }
}

/// A provider that takes scripted (virtual) time, counting its calls.
#[derive(Debug, Clone)]
struct Slow {
    name: &'static str,
    script: Arc<Mutex<Vec<Step>>>,
    calls: Arc<AtomicUsize>,
}

impl Slow {
    fn new(name: &'static str, script: Vec<Step>) -> Self {
        Slow {
            name,
            script: Arc::new(Mutex::new(script.into_iter().rev().collect())),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn next(&self) -> Step {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.script.lock().unwrap().pop().expect("script exhausted")
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Provider for Slow {
    fn name(&self) -> &str {
        self.name
    }
    fn model_id(&self) -> &str {
        "slow-1"
    }
    async fn complete(
        &self,
        _r: CompletionRequest,
    ) -> blazen_providers::Result<CompletionResponse> {
        let step = self.next();
        for d in &step.delays {
            tokio::time::sleep(*d).await;
        }
        Ok(CompletionResponse {
            content: Some(step.text.into()),
            model: "slow-1".into(),
            finish_reason: Some("stop".into()),
            ..Default::default()
        })
    }
    /// One chunk per delay (the last carries the finish reason), each after its delay.
    async fn stream(&self, _r: CompletionRequest) -> blazen_providers::Result<ChunkStream> {
        let step = self.next();
        let n = step.delays.len();
        let chunks = step.delays.into_iter().enumerate().map(move |(i, d)| {
            let mut c = StreamChunk::text(step.text);
            if i + 1 == n {
                c.finish_reason = Some("stop".into());
            }
            (d, c)
        });
        Ok(Box::pin(futures::stream::iter(chunks).then(
            |(d, c)| async move {
                tokio::time::sleep(d).await;
                Ok(c)
            },
        )))
    }
    fn with_model(&self, _m: &str) -> Arc<dyn Provider> {
        Arc::new(self.clone())
    }
    fn with_base_url(&self, _u: &str) -> Arc<dyn Provider> {
        Arc::new(self.clone())
    }
}

fn msgs() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

fn assert_timeout(err: &BlazenError, provider: &str, limit_ms: u64) {
    assert!(
        matches!(err, BlazenError::Timeout { .. }),
        "not a timeout: {err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.provider(), Some(provider));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("timed out after {limit_ms}ms")),
        "{text}"
    );
}

// ---------- complete ----------

#[tokio::test(start_paused = true)]
async fn complete_over_the_limit_is_a_timeout_at_exactly_the_limit() {
    let p = Slow::new("slowprov", vec![slow(45_000, "late")]);
    let m = CompletionModel::from_provider(p.clone()).with_timeout(Duration::from_secs(30));
    let t0 = tokio::time::Instant::now();
    let err = m.complete(&msgs()).await.unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    assert_timeout(&err, "slowprov", 30_000);
    assert_eq!(p.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn complete_within_the_limit_is_untouched() {
    let p = Slow::new("slowprov", vec![slow(29_000, "in time")]);
    let m = CompletionModel::from_provider(p).with_timeout(Duration::from_secs(30));
    let r = m
        .complete_with(CompletionRequest::new(msgs()))
        .await
        .unwrap();
    assert_eq!(r.content.as_deref(), Some("in time"));
}

#[tokio::test(start_paused = true)]
async fn retry_outside_timeout_retries_each_timed_out_attempt() {
    // First added is outermost: retry around a per-attempt deadline.
    let p = Slow::new(
        "slowprov",
        vec![slow(10_000, "a"), slow(10_000, "b"), slow(100, "third")],
    );
    let m = CompletionModel::from_provider(p.clone())
        .with_retry(RetryConfig {
            max_retries: 3,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        })
        .with_timeout(Duration::from_secs(1));
    let r = m.complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("third"));
    assert_eq!(p.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_with_the_timeout_and_its_attempts() {
    let p = Slow::new("slowprov", vec![slow(5_000, "a"), slow(5_000, "b")]);
    let m = CompletionModel::from_provider(p.clone())
        .with_retry(RetryConfig {
            max_retries: 1,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        })
        .with_timeout(Duration::from_millis(250));
    let err = m.complete(&msgs()).await.unwrap_err();
    assert_timeout(&err, "slowprov", 250);
    assert_eq!(err.attempts(), Some(2));
    assert_eq!(p.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn timeout_outside_retry_bounds_all_attempts_together() {
    // Outer 1 s deadline { retry { 400 ms per attempt { a provider taking 900 ms } } }: each
    // attempt times out and is retried, until the outer deadline ends the whole sequence.
    let p = Slow::new(
        "slowprov",
        vec![
            slow(900, "a"),
            slow(900, "b"),
            slow(900, "c"),
            slow(900, "d"),
        ],
    );
    let m = CompletionModel::from_provider(p.clone())
        .with_timeout(Duration::from_secs(1))
        .with_retry(RetryConfig {
            max_retries: 10,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        })
        .with_timeout(Duration::from_millis(400));
    let t0 = tokio::time::Instant::now();
    let err = m.complete(&msgs()).await.unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
    assert_timeout(&err, "slowprov", 1_000);
    assert_eq!(err.attempts(), None, "the retry layer never finished");
    assert_eq!(p.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_primary_falls_back() {
    let primary = Slow::new("primary", vec![slow(60_000, "never")]);
    let backup = Slow::new("backup", vec![slow(10, "from backup")]);
    let m = CompletionModel::with_fallback(vec![
        CompletionModel::from_provider(primary.clone()).with_timeout(Duration::from_secs(2)),
        CompletionModel::from_provider(backup.clone()),
    ]);
    let r = m.complete(&msgs()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("from backup"));
    assert_eq!((primary.calls(), backup.calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn with_model_and_base_url_keep_the_timeout() {
    let p = Slow::new("slowprov", vec![slow(5_000, "late")]);
    let m = CompletionModel::from_provider(p)
        .with_timeout(Duration::from_secs(1))
        .with_model("other")
        .with_base_url("http://127.0.0.1:9");
    let err = m.complete(&msgs()).await.unwrap_err();
    assert_timeout(&err, "slowprov", 1_000);
}

// ---------- streams ----------

#[tokio::test(start_paused = true)]
async fn a_stream_that_does_not_start_in_time_is_a_timeout() {
    let p = Slow::new(
        "slowprov",
        vec![Step {
            delays: vec![Duration::from_secs(20), Duration::from_millis(1)],
            text: "x",
        }],
    );
    let m = CompletionModel::from_provider(p).with_timeout(Duration::from_secs(10));
    let t0 = tokio::time::Instant::now();
    let err = match m.stream(&msgs()).await {
        Ok(_) => panic!("the stream started after its deadline"),
        Err(e) => e,
    };
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    assert_timeout(&err, "slowprov", 10_000);
}

#[tokio::test(start_paused = true)]
async fn a_started_stream_is_not_cut_by_the_timeout() {
    // The first chunk comes in time; the rest takes far longer than the limit in total.
    let p = Slow::new(
        "slowprov",
        vec![Step {
            delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(8),
                Duration::from_secs(8),
            ],
            text: "ab",
        }],
    );
    let m = CompletionModel::from_provider(p).with_timeout(Duration::from_secs(2));
    let t0 = tokio::time::Instant::now();
    let chunks: Vec<_> = m.stream(&msgs()).await.unwrap().collect().await;
    assert_eq!(t0.elapsed(), Duration::from_secs(17));
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(Result::is_ok));

    // The callback form goes through the same deadline.
    let p = Slow::new("slowprov", vec![slow(3_000, "late")]);
    let m = CompletionModel::from_provider(p).with_timeout(Duration::from_secs(2));
    let err = m.stream_with(&msgs(), |_| {}).await.unwrap_err();
    assert_timeout(&err, "slowprov", 2_000);
}

#[tokio::test(start_paused = true)]
async fn a_stream_timeout_is_retried_before_the_first_chunk() {
    let p = Slow::new("slowprov", vec![slow(10_000, "slow"), slow(10, "fast")]);
    let m = CompletionModel::from_provider(p.clone())
        .with_retry(RetryConfig {
            max_retries: 2,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        })
        .with_timeout(Duration::from_secs(1));
    let r = m.stream_with(&msgs(), |_| {}).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("fast"));
    assert_eq!(p.calls(), 2);
}

// ---------- a real local server ----------

fn ok_body() -> serde_json::Value {
    json!({"model": "gpt-4.1-mini", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "late"}}]})
}

#[tokio::test]
async fn a_late_server_is_cut_off_for_complete_and_stream() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(ok_body())
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&server)
        .await;
    let m = CompletionModel::openai("sk-test")
        .with_base_url(server.uri())
        .with_timeout(Duration::from_millis(150));
    let t0 = std::time::Instant::now();
    let err = m.complete(&msgs()).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_timeout(&err, "openai", 150);

    let t0 = std::time::Instant::now();
    let err = match m.stream(&msgs()).await {
        Ok(_) => panic!("stream started"),
        Err(e) => e,
    };
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_timeout(&err, "openai", 150);
}

#[tokio::test]
async fn embeddings_have_a_deadline_too() {
    let server = MockServer::start().await;
    let body = json!({"data": [{"index": 0, "embedding": [0.1, 0.2]}],
        "model": "text-embedding-3-small"});
    Mock::given(method("POST"))
        .and(path("/embeddings"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body.clone())
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&server)
        .await;
    let m = EmbeddingModel::openai("sk-test")
        .with_base_url(server.uri())
        .with_timeout(Duration::from_millis(150));
    let t0 = std::time::Instant::now();
    let err = m.embed(&["a"]).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_timeout(&err, "openai", 150);

    // In time: the answer as usual.
    let fast = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&fast)
        .await;
    let m = EmbeddingModel::openai("sk-test")
        .with_base_url(fast.uri())
        .with_timeout(Duration::from_secs(5));
    assert_eq!(
        m.embed(&["a"]).await.unwrap().embeddings,
        vec![vec![0.1, 0.2]]
    );
}
