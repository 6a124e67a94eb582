//! Client-side request validation: a bad temperature, top_p, max_tokens or an empty
//! conversation is an `invalid input: ...` error before anything is sent (the local server
//! sees no request), on every complete and stream path; valid edge values go through. Also
//! `ChatMessage::new` and `Role` from a string.

use std::time::Duration;

use blazen_providers::{
    BlazenError, CacheConfig, ChatMessage, CompletionModel, CompletionRequest, RetryConfig, Role,
};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok_body() -> serde_json::Value {
    json!({"model": "gpt-4.1-mini", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "ok"}}]})
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body()))
        .mount(&server)
        .await;
    server
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn req() -> CompletionRequest {
    CompletionRequest::new(vec![ChatMessage::user("hi")])
}

/// Every invalid request, with the start of the message it must give.
fn invalid() -> Vec<(CompletionRequest, &'static str)> {
    vec![
        (
            req().temperature(-0.5),
            "invalid input: temperature must be >= 0",
        ),
        (
            req().temperature(f32::NAN),
            "invalid input: temperature must be a finite number",
        ),
        (
            req().temperature(f32::INFINITY),
            "invalid input: temperature must be a finite number",
        ),
        (
            req().top_p(1.5),
            "invalid input: top_p must be between 0 and 1",
        ),
        (
            req().top_p(-0.1),
            "invalid input: top_p must be between 0 and 1",
        ),
        (
            req().top_p(f32::NAN),
            "invalid input: top_p must be between 0 and 1",
        ),
        (
            req().max_tokens(0),
            "invalid input: max_tokens must be >= 1",
        ),
        (
            CompletionRequest::new(Vec::<ChatMessage>::new()),
            "invalid input: messages must not be empty",
        ),
    ]
}

fn check(err: &BlazenError, want: &str) {
    assert!(
        matches!(err, BlazenError::Validation { .. }),
        "not a validation error: {err:?}"
    );
    assert!(err.to_string().starts_with(want), "{err} vs {want}");
    assert!(!err.is_retryable());
    assert_eq!(err.provider(), Some("openai"));
}

#[tokio::test]
async fn invalid_requests_fail_before_sending_on_every_path() {
    let server = server().await;
    let m = CompletionModel::openai("sk-test").with_base_url(server.uri());
    for (request, want) in invalid() {
        assert!(request.validate().is_err(), "{want}");
        let err = m.complete_with(request.clone()).await.unwrap_err();
        check(&err, want);
        let err = match m.stream_request(request.clone()).await {
            Ok(_) => panic!("stream accepted an invalid request ({want})"),
            Err(e) => e,
        };
        check(&err, want);
        let err = m
            .stream_request_with(request.clone(), |_| {})
            .await
            .unwrap_err();
        check(&err, want);
        let err = m
            .stream_request_with_async(request, |_| async {})
            .await
            .unwrap_err();
        check(&err, want);
    }
    let err = m.complete(&[]).await.unwrap_err();
    check(&err, "invalid input: messages must not be empty");
    let err = match m.stream(&[]).await {
        Ok(_) => panic!("empty stream request accepted"),
        Err(e) => e,
    };
    check(&err, "invalid input: messages must not be empty");
    assert_eq!(hits(&server).await, 0, "nothing was sent");
}

#[tokio::test]
async fn validation_errors_are_not_retried_or_cached() {
    let server = server().await;
    let m = CompletionModel::openai("sk-test")
        .with_base_url(server.uri())
        .with_cache(CacheConfig::default())
        .with_retry(RetryConfig {
            max_retries: 3,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        });
    let err = m.complete_with(req().temperature(-1.0)).await.unwrap_err();
    check(&err, "invalid input: temperature must be >= 0");
    assert_eq!(err.attempts(), None);
    assert_eq!(hits(&server).await, 0);
}

#[tokio::test]
async fn edge_values_are_valid_and_sent() {
    let server = server().await;
    let m = CompletionModel::openai("sk-test").with_base_url(server.uri());
    for request in [
        req().temperature(0.0),
        req().temperature(2.0),
        req().top_p(0.0),
        req().top_p(1.0),
        req().max_tokens(1),
        req(),
    ] {
        assert!(request.validate().is_ok());
        let r = m.complete_with(request).await.unwrap();
        assert_eq!(r.content.as_deref(), Some("ok"));
    }
    assert_eq!(hits(&server).await, 6);
    let sent: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["temperature"], 0.0);
}

// ---------- ChatMessage::new and Role from a string ----------

#[test]
fn chat_message_new_is_the_role_constructors() {
    assert_eq!(ChatMessage::new(Role::User, "a"), ChatMessage::user("a"));
    assert_eq!(
        ChatMessage::new(Role::System, "a"),
        ChatMessage::system("a")
    );
    assert_eq!(
        ChatMessage::new(Role::Assistant, "a"),
        ChatMessage::assistant("a")
    );
    assert_eq!(ChatMessage::new(Role::Tool, "a"), ChatMessage::tool("a"));
    assert_eq!(ChatMessage::default().role, Role::User);
}

#[test]
fn role_parses_from_its_name() {
    for role in [Role::System, Role::User, Role::Assistant, Role::Tool] {
        assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        assert_eq!(Role::try_from(role.to_string().as_str()).unwrap(), role);
        assert_eq!(role.as_str().to_uppercase().parse::<Role>().unwrap(), role);
    }
    assert_eq!(" user\n".parse::<Role>().unwrap(), Role::User);
    for bad in ["", "robot", "users", "developer", "us er"] {
        let err = bad.parse::<Role>().unwrap_err();
        assert!(matches!(err, BlazenError::Validation { .. }), "{bad}");
        assert!(
            err.to_string().starts_with("invalid input: unknown role"),
            "{err}"
        );
    }
    // A huge input is not echoed whole.
    let long = "x".repeat(10_000);
    assert!(long.parse::<Role>().unwrap_err().to_string().len() < 300);
}

#[tokio::test]
async fn an_empty_api_key_fails_fast_as_auth_before_anything_is_sent() {
    let server = wiremock::MockServer::start().await;
    let models = [
        CompletionModel::openai("").with_base_url(server.uri()),
        CompletionModel::groq("").with_base_url(server.uri()),
        CompletionModel::anthropic("").with_base_url(server.uri()),
        CompletionModel::gemini("").with_base_url(server.uri()),
        CompletionModel::fal("").with_base_url(server.uri()),
    ];
    for m in models {
        let err = m.complete(&[ChatMessage::user("hi")]).await.unwrap_err();
        assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
        assert!(err.to_string().contains("empty"), "{err}");
        let err = m.stream(&[ChatMessage::user("hi")]).await.err().unwrap();
        assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    }
    let err = blazen_providers::EmbeddingModel::openai("")
        .with_base_url(server.uri())
        .embed(&["a"])
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_key_a_header_cannot_carry_fails_fast_as_auth_without_showing_it() {
    // A key pasted with its line break: sent without auth before, it came back as a 401.
    let server = server().await;
    let key = "sk-secret-value-1234\n";
    for m in [
        CompletionModel::openai(key).with_base_url(server.uri()),
        CompletionModel::anthropic(key).with_base_url(server.uri()),
    ] {
        let err = m.complete(&[ChatMessage::user("hi")]).await.unwrap_err();
        assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
        assert!(err.to_string().contains("line break"), "{err}");
        assert!(!format!("{err} {err:?}").contains("sk-secret"), "{err:?}");
    }
    assert_eq!(hits(&server).await, 0);
}

#[tokio::test]
async fn a_model_used_then_pointed_elsewhere_sends_to_the_new_server() {
    // The chat endpoint is prepared once per model; a re-targeted clone must not reuse it.
    let (first, second) = (server().await, server().await);
    let model = CompletionModel::openai("k").with_base_url(first.uri());
    model.complete(&[ChatMessage::user("hi")]).await.unwrap();
    let moved = model.clone().with_base_url(second.uri());
    moved.complete(&[ChatMessage::user("hi")]).await.unwrap();
    model.complete(&[ChatMessage::user("hi")]).await.unwrap();
    assert_eq!((hits(&first).await, hits(&second).await), (2, 1));

    // Native providers keep their endpoint the same way (the answer does not fit their
    // format: only where the requests went matters here).
    for native in [
        CompletionModel::anthropic("k"),
        CompletionModel::cohere("k"),
        CompletionModel::gemini("k"),
        CompletionModel::bedrock("k", "us-east-1"),
    ] {
        let (a, b) = (server().await, server().await);
        let model = native.with_base_url(a.uri());
        let _ = model.complete(&[ChatMessage::user("hi")]).await;
        let _ = model
            .clone()
            .with_base_url(b.uri())
            .complete(&[ChatMessage::user("hi")])
            .await;
        let _ = model.complete(&[ChatMessage::user("hi")]).await;
        assert_eq!((hits(&a).await, hits(&b).await), (2, 1));
    }

    // Azure: the deployment is part of the URL, so with_model re-targets too.
    let azure = CompletionModel::azure("k", "res", "dep-a").with_base_url(first.uri());
    azure.complete(&[ChatMessage::user("hi")]).await.unwrap();
    azure
        .clone()
        .with_model("dep-b")
        .complete(&[ChatMessage::user("hi")])
        .await
        .unwrap();
    let paths: Vec<String> = first
        .received_requests()
        .await
        .unwrap()
        .iter()
        .skip(2)
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/openai/deployments/dep-a/chat/completions",
            "/openai/deployments/dep-b/chat/completions"
        ]
    );
}

#[tokio::test]
async fn a_request_naming_another_model_goes_to_that_models_url() {
    // Gemini and Bedrock put the model in the URL; the default model's endpoint is kept, a
    // request's own model gets its own.
    let server = server().await;
    let gemini = CompletionModel::gemini("k")
        .with_model("gemini-a")
        .with_base_url(server.uri());
    let bedrock = CompletionModel::bedrock("k", "us-east-1")
        .with_model("model-a")
        .with_base_url(server.uri());
    let hi = || vec![ChatMessage::user("hi")];
    for (model, other) in [(&gemini, "gemini-b"), (&bedrock, "model-b")] {
        let _ = model.complete(&hi()).await;
        let _ = model
            .complete_with(CompletionRequest::new(hi()).model(other))
            .await;
        let _ = model.complete(&hi()).await;
    }
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/models/gemini-a:generateContent",
            "/models/gemini-b:generateContent",
            "/models/gemini-a:generateContent",
            "/model/model-a/converse",
            "/model/model-b/converse",
            "/model/model-a/converse",
        ]
    );
}
