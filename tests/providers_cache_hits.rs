//! A cache hit is not a new call: it reports no cost (`Some(0.0)`), its own time and no request
//! id, while the call that went upstream keeps its real cost, timing and request id.

use std::time::Duration;

use blazen_providers::{CacheConfig, ChatMessage, CompletionModel};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn msgs() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

/// A priced model (gpt-4.1-mini is in the pricing table) with usage, a request id and a
/// server delay, so the first call has a cost, a measurable time and an id.
async fn server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req_upstream_1")
                .set_body_json(json!({"model": "gpt-4.1-mini", "choices": [{"index": 0,
                    "finish_reason": "stop", "message": {"role": "assistant", "content": "cached"}}],
                    "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}}))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_hit_reports_zero_cost_its_own_time_and_no_request_id() {
    let server = server(Duration::from_millis(300)).await;
    let m = CompletionModel::openai("sk-test")
        .with_base_url(server.uri())
        .with_cache(CacheConfig::default());

    let first = m.complete(&msgs()).await.unwrap();
    let cost = first.cost.expect("gpt-4.1-mini is priced");
    assert!(cost > 0.0);
    assert_eq!(first.request_id.as_deref(), Some("req_upstream_1"));
    let first_ms = first.timing.unwrap().total_ms.unwrap();
    assert!(first_ms >= 300, "{first_ms}");

    let hit = m.complete(&msgs()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(hit.cost, Some(0.0));
    assert_eq!(hit.request_id, None);
    let timing = hit.timing.unwrap();
    assert!(timing.total_ms.unwrap() < 300, "{timing:?}");
    assert_eq!((timing.queue_ms, timing.execution_ms), (None, None));
    // The answer itself is the stored one.
    assert_eq!(hit.content, first.content);
    assert_eq!(hit.usage, first.usage);
    assert_eq!(hit.model, first.model);
    assert_eq!(hit.finish_reason, first.finish_reason);
}

#[tokio::test]
async fn concurrent_identical_calls_pay_once() {
    let server = server(Duration::from_millis(200)).await;
    let m = CompletionModel::openai("sk-test")
        .with_base_url(server.uri())
        .with_cache(CacheConfig::default());
    let calls = (0..8).map(|_| {
        let m = m.clone();
        tokio::spawn(async move { m.complete(&msgs()).await.unwrap() })
    });
    let results: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let paid: Vec<_> = results
        .iter()
        .filter(|r| r.cost.is_some_and(|c| c > 0.0))
        .collect();
    assert_eq!(paid.len(), 1, "exactly the caller that went upstream pays");
    assert_eq!(paid[0].request_id.as_deref(), Some("req_upstream_1"));
    let total: f64 = results.iter().filter_map(|r| r.cost).sum();
    assert_eq!(total, paid[0].cost.unwrap());
    assert_eq!(results.iter().filter(|r| r.request_id.is_none()).count(), 7);
}
