//! Retry delays, stream error frames, the Display of every category, transport errors and
//! secret redaction.

use super::*;

// ----- retry delays --------------------------------------------------------------------------

#[test]
fn retry_after_forms() {
    let get = |pairs: &[(&str, &str)]| {
        BlazenError::from_http("p", 429, &headers(pairs), b"{}").retry_after()
    };
    assert_eq!(get(&[("retry-after", "7")]), Some(Duration::from_secs(7)));
    assert_eq!(
        get(&[("retry-after", "0.5")]),
        Some(Duration::from_millis(500))
    );
    assert_eq!(
        get(&[("retry-after-ms", "1234")]),
        Some(Duration::from_millis(1234))
    );
    assert_eq!(
        get(&[("retry-after-ms", "250"), ("retry-after", "9")]),
        Some(Duration::from_millis(250)),
        "retry-after-ms is more precise and wins"
    );
    assert_eq!(get(&[("retry-after", "soon")]), None);
    assert_eq!(get(&[("retry-after", "-3")]), None);
    assert_eq!(get(&[("retry-after", "99999999999")]), None);
    assert_eq!(get(&[]), None);
    // An HTTP date 30 s in the future (second precision).
    let at = SystemTime::now() + Duration::from_secs(30);
    let d = get(&[("retry-after", &httpdate::fmt_http_date(at))]).unwrap();
    assert!(
        d > Duration::from_secs(27) && d <= Duration::from_secs(30),
        "{d:?}"
    );
    // A date in the past means "now".
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
    assert_eq!(get(&[("retry-after", &past)]), Some(Duration::ZERO));
}

#[test]
fn parse_retry_after_against_a_fixed_clock() {
    let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_proto_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(
        parse_proto_duration("0.250s"),
        Some(Duration::from_millis(250))
    );
    assert_eq!(parse_proto_duration("abc"), None);
}

// ----- stream frames -------------------------------------------------------------------------

#[test]
fn stream_frames_openai_style() {
    let frame = serde_json::json!({"error": {"message": "Upstream timeout", "type": "engine_error", "code": "timeout"}});
    let e = BlazenError::from_stream_frame("gw", &frame).unwrap();
    assert_eq!(e.kind(), Kind::Timeout);
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some("timeout"));
    assert_eq!(e.error_type(), Some("engine_error"));
    assert_eq!(e.status(), None);
    assert!(e.raw_body().unwrap().contains("Upstream timeout"));
    assert!(e.to_string().starts_with("timed out: Upstream timeout"));

    // Seed 003's example.
    let frame = serde_json::json!({"error": {"type": "inappropriate_content", "message": "We got a bad response from the source. Status 403."}});
    let e = BlazenError::from_stream_frame("gw", &frame).unwrap();
    assert!(matches!(e, BlazenError::ContentPolicy { .. }));

    // OpenRouter mid-stream: numeric code is an HTTP status.
    let frame = serde_json::json!({"id": "gen-1", "error": {"code": 502, "message": "Provider disconnected"}, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]});
    let e = BlazenError::from_stream_frame("openrouter", &frame).unwrap();
    assert_eq!(e.status(), Some(502));
    assert!(e.is_retryable());

    // A string error.
    let frame = serde_json::json!({"error": "stream aborted"});
    let e = BlazenError::from_stream_frame("x", &frame).unwrap();
    assert_eq!(e.message(), "stream aborted");
    assert!(
        !e.is_retryable(),
        "an unknown mid-stream error is not assumed transient"
    );
}

#[test]
fn stream_frames_anthropic_and_responses() {
    let frame = serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let e = BlazenError::from_stream_frame("anthropic", &frame).unwrap();
    assert_eq!(e.kind(), Kind::Provider);
    assert!(e.is_retryable());
    assert_eq!(
        e.to_string(),
        "anthropic error: Overloaded [type overloaded_error]"
    );

    let frame = serde_json::json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow", "param": null, "sequence_number": 3});
    let e = BlazenError::from_stream_frame("openai", &frame).unwrap();
    assert_eq!(e.kind(), Kind::RateLimit);

    let frame = serde_json::json!({"type": "response.failed", "response": {"id": "r", "status": "failed", "error": {"code": "server_error", "message": "boom"}}});
    let e = BlazenError::from_stream_frame("openai", &frame).unwrap();
    assert_eq!(e.kind(), Kind::Provider);
    assert!(e.is_retryable());

    // A failed response without an error object is still an error.
    let frame = serde_json::json!({"type": "response.failed", "response": {"status": "failed"}});
    let e = BlazenError::from_stream_frame("openai", &frame).unwrap();
    assert_eq!(e.message(), "response failed");
    assert!(!e.is_retryable());
}

#[test]
fn normal_frames_are_not_errors() {
    for frame in [
        serde_json::json!({"choices": [{"delta": {"content": "hi"}}]}),
        serde_json::json!({"choices": [], "error": null}),
        serde_json::json!({"type": "content_block_delta", "delta": {"text": "x"}}),
        serde_json::json!({"type": "response.completed", "response": {"error": null}}),
        serde_json::json!({"choices": [], "error": {}}),
        serde_json::json!({"choices": [], "error": ""}),
        serde_json::json!({"choices": [], "error": false}),
        serde_json::json!([1, 2]),
        serde_json::json!("data"),
        serde_json::json!(null),
    ] {
        assert!(
            BlazenError::from_stream_frame("x", &frame).is_none(),
            "{frame}"
        );
    }
}

// ----- Display prefixes of every category ------------------------------------------------

#[test]
fn display_prefixes_follow_the_seed() {
    let cases: Vec<(BlazenError, &str)> = vec![
        (
            resp("openai", 401, r#"{"error":{"message":"invalid API key"}}"#),
            "authentication failed: invalid API key",
        ),
        (
            BlazenError::from_http("p", 429, &headers(&[("retry-after-ms", "1000")]), b""),
            "rate limited: retry after 1000ms",
        ),
        (
            BlazenError::timeout(Duration::from_secs(30)),
            "timed out after 30000ms",
        ),
        (
            resp(
                "openai",
                500,
                r#"{"error":{"message":"server overloaded"}}"#,
            ),
            "openai error: server overloaded",
        ),
        (
            BlazenError::validation("temperature must be >= 0"),
            "invalid input: temperature must be >= 0",
        ),
        (
            resp("p", 400, &envelope("content_filtered")),
            "content policy violation: something",
        ),
        (
            BlazenError::unsupported("model does not support streaming"),
            "unsupported: model does not support streaming",
        ),
        (BlazenError::no_content("p"), "model returned no content"),
        (
            BlazenError::model_not_found("openai", "gpt-5-turbo"),
            "model not found: gpt-5-turbo",
        ),
        (
            BlazenError::invalid_response("p", "malformed JSON", b"{"),
            "invalid response: malformed JSON",
        ),
        (
            BlazenError::stream("p", "connection reset"),
            "stream error: connection reset",
        ),
        (
            BlazenError::job_failed("fal", "out of memory"),
            "job failed: out of memory",
        ),
        (BlazenError::cancelled("fal", ""), "job cancelled"),
        (
            BlazenError::quota_exceeded("fal", "monthly limit reached"),
            "quota exceeded: monthly limit reached",
        ),
        (
            BlazenError::invalid_media("unsupported format"),
            "invalid media: unsupported format",
        ),
        (
            BlazenError::too_large(52_428_800, 10_485_760),
            "media too large: 52428800 bytes (max 10485760)",
        ),
        (
            BlazenError::connection("p", "refused"),
            "connection error: refused",
        ),
    ];
    for (err, prefix) in cases {
        let text = err.to_string();
        assert!(
            text.starts_with(prefix),
            "{text:?} should start with {prefix:?}"
        );
    }
    assert_eq!(
        BlazenError::timeout(Duration::from_secs(30)).to_string(),
        "timed out after 30000ms"
    );
    assert_eq!(BlazenError::cancelled("", "").to_string(), "job cancelled");
    assert_eq!(
        BlazenError::too_large(52_428_800, 10_485_760).to_string(),
        "media too large: 52428800 bytes (max 10485760)"
    );
}

#[test]
fn local_constructors_classify_retryability() {
    assert!(BlazenError::timeout(Duration::from_secs(1)).is_retryable());
    assert!(BlazenError::stream("p", "cut").is_retryable());
    assert!(BlazenError::connection("p", "reset").is_retryable());
    assert!(!BlazenError::validation("x").is_retryable());
    assert!(!BlazenError::invalid_response("p", "x", b"").is_retryable());
    assert!(!BlazenError::quota_exceeded("p", "x").is_retryable());
    assert!(!BlazenError::job_failed("p", "x").is_retryable());
    let e = BlazenError::validation("x").with_provider("openai");
    assert_eq!(e.provider(), Some("openai"));
    let e = BlazenError::from_reqwest_timeout_for_test().with_elapsed(Duration::from_millis(1500));
    assert!(e.to_string().starts_with("timed out after 1500ms"));
}

impl BlazenError {
    fn from_reqwest_timeout_for_test() -> Self {
        Self::build(
            Kind::Timeout,
            "request timed out".into(),
            ErrorDetails::default(),
        )
    }
}

// ----- transport errors from reqwest (local sockets only) --------------------------------

#[tokio::test]
async fn reqwest_connect_error_is_a_retryable_connection_error_without_the_url() {
    // Bind then drop a listener: its port now refuses connections.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1/chat?key=AIzaSyTESTKEY0123456789abcdefghijklmn");
    let err = reqwest::Client::new().get(&url).send().await.unwrap_err();
    let e = BlazenError::from_reqwest("gemini", err);
    assert!(matches!(e, BlazenError::Connection { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(std::error::Error::source(&e).is_some());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("AIzaSyTESTKEY"), "{shown}");
}

#[tokio::test]
async fn reqwest_timeout_is_a_retryable_timeout() {
    let addr = crate::http::tests::silent_server().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap_err();
    let e = BlazenError::from_reqwest("openai", err);
    assert!(matches!(e, BlazenError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.to_string().starts_with("timed out"));
}

// ----- secrets -------------------------------------------------------------------------------

#[test]
fn secret_string_debug_is_redacted() {
    let key = SecretString::from("sk-live-abcdefghijklmnop");
    assert_eq!(format!("{key:?}"), "[REDACTED]");
    #[derive(Debug)]
    #[allow(dead_code)] // Only read through Debug.
    struct Config {
        key: SecretString,
    }
    let shown = format!("{:?}", Config { key: key.clone() });
    assert!(!shown.contains("abcdef"), "{shown}");
    assert_eq!(key.expose_secret(), "sk-live-abcdefghijklmnop");
}

#[test]
fn redaction_patterns() {
    let cases = [
        (
            "Incorrect API key provided: sk-proj-AbC123xyz789qwerty.",
            "sk-proj-AbC123",
        ),
        ("Authorization: Bearer eyJhbGciOi.J9.xyz done", "eyJhbGciOi"),
        ("authorization: bearer abc123DEF456", "abc123DEF456"),
        (
            "key sk-ant-api03-AAAAAAAAAAAAAAAAAAAA-BBBB used",
            "AAAAAAAAAAAA",
        ),
        (
            "url https://x/v1/models?alt=sse&key=AIzaSyABCDEFGHIJKLMNOPQRSTUVWXYZ01234 failed",
            "AIzaSyABCDEF",
        ),
        ("?key=secretvalue123", "secretvalue123"),
        ("stripe sk_test_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWD"),
    ];
    for (text, secret) in cases {
        let out = redact(text, None);
        assert!(!out.contains(secret), "{out}");
        assert!(out.contains(REDACTED), "{out}");
    }
    // Words that merely contain "sk-" or "key" are left alone.
    for text in [
        "risk-assessment-document",
        "task-1234567890",
        "monkey=banana",
        "the key is wrong",
        "ask-me",
    ] {
        assert_eq!(redact(text, None), text);
    }
    // A known key of any shape, at every occurrence; short or empty secrets are not "redacted"
    // everywhere.
    assert_eq!(
        redact(
            "k=my-custom-key-123 and my-custom-key-123",
            Some("my-custom-key-123")
        ),
        "k=[REDACTED] and [REDACTED]"
    );
    assert_eq!(redact("abc", Some("")), "abc");
    assert_eq!(redact("a b", Some("a")), "a b");
    // Multi-byte text around a hit survives.
    assert_eq!(redact("é Bearer tok€n ü", None), "é Bearer [REDACTED]€n ü");
}

#[test]
fn api_keys_never_reach_errors() {
    let key = "sk-proj-SECRETSECRETSECRET1234";
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
    );
    let e = resp("openai", 401, &body);
    assert_eq!(e.kind(), Kind::Auth);
    for shown in [
        e.to_string(),
        format!("{e:?}"),
        e.raw_body().unwrap().to_owned(),
    ] {
        assert!(!shown.contains("SECRETSECRET"), "{shown}");
    }
    // A key of no known shape, scrubbed by the HTTP layer that knows it.
    let custom = SecretString::from("custom-gateway-token-42");
    let body =
        r#"{"error":{"message":"token custom-gateway-token-42 revoked","code":"invalid_api_key"}}"#;
    let e = resp("gw", 401, body).redact_secret(&custom);
    for shown in [
        e.to_string(),
        format!("{e:?}"),
        e.raw_body().unwrap().to_owned(),
    ] {
        assert!(!shown.contains("custom-gateway-token-42"), "{shown}");
    }
    // Stream frames too.
    let frame = serde_json::json!({"error": {"message": format!("bad key {key}")}});
    let e = BlazenError::from_stream_frame("x", &frame).unwrap();
    assert!(!format!("{e} {e:?}").contains("SECRETSECRET"));
}

#[test]
fn errors_are_send_sync_clone_and_small() {
    fn assert_traits<T: Send + Sync + Clone + std::error::Error + 'static>() {}
    assert_traits::<BlazenError>();
    assert!(std::mem::size_of::<BlazenError>() <= 128);
}

// ----- properties ----------------------------------------------------------------------------

/// JSON-ish error bodies: envelopes with random field types, to reach every branch.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_:]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("error"),
            Just("message"),
            Just("code"),
            Just("type"),
            Just("status"),
            Just("details"),
            Just("metadata"),
            Just("raw"),
            Just("retryDelay"),
            Just("1.5s"),
            Just("type.googleapis.com/google.rpc.RetryInfo"),
            Just("detail"),
            Just("msg"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("error"),
                        Just("message"),
                        Just("code"),
                        Just("type"),
                        Just("status"),
                        Just("details"),
                        Just("metadata"),
                        Just("param"),
                        Just("raw"),
                        Just("provider_name"),
                        Just("@type"),
                        Just("retryDelay"),
                        Just("detail"),
                        Just("request_id"),
                        Just("reason"),
                        Just("response"),
                        Just("__type"),
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn envelope_parser_never_panics_on_bytes(
        body in prop::collection::vec(any::<u8>(), 0..300),
        status in any::<u16>(),
    ) {
        let e = BlazenError::from_http("p", status, &HeaderMap::new(), &body);
        let _ = (e.to_string(), format!("{e:?}"), e.is_retryable());
    }

    #[test]
    fn envelope_parser_never_panics_on_json(value in json_value(), status in 0u16..600) {
        let body = value.to_string();
        let e = BlazenError::from_http("p", status, &HeaderMap::new(), body.as_bytes());
        let _ = (e.to_string(), e.retry_after(), e.code());
        if let Some(e) = BlazenError::from_stream_frame("p", &value) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn redaction_never_panics_and_removes_known_secrets(
        text in ".{0,80}",
        secret in "[a-z0-9-]{4,20}",
    ) {
        let joined = format!("{text}{secret}{text}");
        let out = redact(&joined, Some(&secret));
        prop_assert!(!out.contains(&secret));
    }
}

// ----- moderation refusals on 400 / 403 (content policy, not auth) ---------------------------

/// OpenRouter's moderation refusal, in the shape its docs give.
const OPENROUTER_MODERATION: &str = r#"{"error":{"code":403,"message":"openai/gpt-4o requires moderation on OpenRouter. Your input was flagged for \"violence/graphic\"","metadata":{"reasons":["violence/graphic","harassment"],"flagged_input":"how do I hurt...","provider_name":null,"model_slug":"openai/gpt-4o"}}}"#;

#[test]
fn openrouter_moderation_403_is_content_policy_with_reasons_and_input() {
    let h = headers(&[("x-request-id", "req_mod")]);
    let e = BlazenError::from_http("openrouter", 403, &h, OPENROUTER_MODERATION.as_bytes());
    assert_eq!(e.kind(), Kind::ContentPolicy, "{e}");
    assert!(!e.is_retryable());
    assert_eq!(e.status(), Some(403));
    assert_eq!(e.code(), Some("403"));
    assert_eq!(e.request_id(), Some("req_mod"));
    assert!(e.message().contains("requires moderation"), "{e}");
    assert!(
        e.message()
            .contains("reasons: violence/graphic, harassment"),
        "{e}"
    );
    assert!(
        e.message().contains(r#"flagged input: "how do I hurt...""#),
        "{e}"
    );
    assert!(e.raw_body().unwrap().contains("flagged_input"));
    assert!(
        e.to_string().starts_with("content policy violation: "),
        "{e}"
    );
    // The same object as a mid-stream frame (status from the numeric code).
    let frame: Value = serde_json::from_str(OPENROUTER_MODERATION).unwrap();
    let e = BlazenError::from_stream_frame("openrouter", &frame).unwrap();
    assert_eq!(e.kind(), Kind::ContentPolicy);
    assert_eq!(e.status(), Some(403));
}

#[test]
fn moderation_metadata_alone_is_enough() {
    // No telling words in the message: the metadata decides.
    let body = r#"{"error":{"code":403,"message":"Request refused","metadata":{"reasons":["self-harm"]}}}"#;
    let e = resp("openrouter", 403, body);
    assert_eq!(e.kind(), Kind::ContentPolicy);
    assert_eq!(e.message(), "Request refused (reasons: self-harm)");
    let body = r#"{"error":{"code":400,"message":"","metadata":{"flagged_input":"xyz"}}}"#;
    let e = resp("openrouter", 400, body);
    assert_eq!(e.kind(), Kind::ContentPolicy);
    assert_eq!(e.message(), r#"flagged input: "xyz""#);
}

#[test]
fn blocked_or_filtered_wording_on_400_and_403_is_content_policy() {
    for (status, message) in [
        (403, "Access blocked: your prompt was filtered"),
        (403, "The request was blocked by the content filter"),
        (400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."),
        (400, "Input flagged by moderation"),
        (403, "Prompt blocked by the safety system"),
    ] {
        let body = serde_json::json!({"error": {"message": message}}).to_string();
        let e = resp("p", status, &body);
        assert_eq!(e.kind(), Kind::ContentPolicy, "{status} {message}");
        assert!(!e.is_retryable());
        // A generic request-error type does not hide it either.
        let body = serde_json::json!({"error": {"message": message, "type": "invalid_request_error"}})
            .to_string();
        assert_eq!(resp("p", status, &body).kind(), Kind::ContentPolicy, "{message}");
    }
}

#[test]
fn plain_forbidden_and_bad_keys_stay_auth() {
    for message in [
        "Forbidden",
        "invalid key",
        "Your API key does not have access to this model",
        "Access denied",
        "Your IP address is blocked",
        "Account flagged for unusual activity; contact support",
        "model not in your org's allowed list",
    ] {
        let body = serde_json::json!({"error": {"message": message}}).to_string();
        let e = resp("p", 403, &body);
        assert_eq!(e.kind(), Kind::Auth, "{message}");
    }
    // A specific machine code wins over the wording.
    let body = serde_json::json!({"error": {"message": "key flagged as leaked in a public repo: content removed", "code": "invalid_api_key"}}).to_string();
    assert_eq!(resp("p", 403, &body).kind(), Kind::Auth);
    // Other statuses keep their category.
    let body = r#"{"error":{"message":"prompt flagged"}}"#;
    assert_eq!(resp("p", 401, body).kind(), Kind::Auth);
    assert_eq!(resp("p", 500, body).kind(), Kind::Provider);
    // And a plain 400 stays a validation error.
    let body = r#"{"error":{"message":"max_tokens must be positive"}}"#;
    assert_eq!(resp("p", 400, body).kind(), Kind::Validation);
}

// ----- 404: model or endpoint not found ------------------------------------------------------

#[test]
fn every_404_without_a_more_specific_code_is_model_not_found() {
    for body in [
        // OpenRouter: no provider serves this model (no word "model" in it).
        r#"{"error":{"message":"No endpoints found for mistralai/mixtral-8x7b-instruct.","code":404}}"#,
        r#"{"error":{"message":"The model `gpt-5-turbo` does not exist"}}"#,
        // A wrong base URL: a server's plain 404 page.
        "<html><head><title>404 Not Found</title></head></html>",
        "404 page not found",
        "",
        r#"{"detail":"Not Found"}"#,
    ] {
        let e = resp("p", 404, body);
        assert_eq!(e.kind(), Kind::ModelNotFound, "{body}");
        assert!(!e.is_retryable());
        assert_eq!(e.status(), Some(404));
        assert!(e.to_string().starts_with("model not found: "), "{e}");
    }
    // Seed 001's resource_not_found names a non-model resource: it keeps its table entry.
    assert_eq!(
        resp("g", 404, &envelope("resource_not_found")).kind(),
        Kind::Validation
    );
}

// ----- public constructors and setters ----------------------------------------------------

#[test]
fn public_constructors_give_each_category_and_its_default_retryability() {
    let cases: Vec<(BlazenError, Kind, bool, &str)> = vec![
        (
            BlazenError::auth("c", "bad key"),
            Kind::Auth,
            false,
            "authentication failed: bad key [c]",
        ),
        (
            BlazenError::rate_limit("c", "slow"),
            Kind::RateLimit,
            true,
            "rate limited: slow [c]",
        ),
        (
            BlazenError::timeout(Duration::from_millis(5)),
            Kind::Timeout,
            true,
            "timed out after 5ms",
        ),
        (
            BlazenError::provider_error("c", "boom"),
            Kind::Provider,
            false,
            "c error: boom",
        ),
        (
            BlazenError::validation("bad"),
            Kind::Validation,
            false,
            "invalid input: bad",
        ),
        (
            BlazenError::content_policy("c", "no"),
            Kind::ContentPolicy,
            false,
            "content policy violation: no [c]",
        ),
        (
            BlazenError::unsupported("tools"),
            Kind::Unsupported,
            false,
            "unsupported: tools",
        ),
        (
            BlazenError::no_content("c"),
            Kind::NoContent,
            false,
            "model returned no content [c]",
        ),
        (
            BlazenError::model_not_found("c", "m"),
            Kind::ModelNotFound,
            false,
            "model not found: m [c]",
        ),
        (
            BlazenError::invalid_response("c", "junk", b"x"),
            Kind::InvalidResponse,
            false,
            "invalid response: junk [c]",
        ),
        (
            BlazenError::stream("c", "cut"),
            Kind::Stream,
            true,
            "stream error: cut [c]",
        ),
        (
            BlazenError::job_failed("c", "oom"),
            Kind::JobFailed,
            false,
            "job failed: oom [c]",
        ),
        (
            BlazenError::cancelled("c", "stop"),
            Kind::Cancelled,
            false,
            "job cancelled: stop [c]",
        ),
        (
            BlazenError::quota_exceeded("c", "spent"),
            Kind::QuotaExceeded,
            false,
            "quota exceeded: spent [c]",
        ),
        (
            BlazenError::invalid_media("png?"),
            Kind::InvalidMedia,
            false,
            "invalid media: png?",
        ),
        (
            BlazenError::too_large(2, 1),
            Kind::TooLarge,
            false,
            "media too large: 2 bytes (max 1)",
        ),
        (
            BlazenError::connection("c", "refused"),
            Kind::Connection,
            true,
            "connection error: refused [c]",
        ),
    ];
    assert_eq!(cases.len(), 17, "one case per category");
    for (err, kind, retryable, text) in cases {
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.is_retryable(), retryable, "{err}");
        assert_eq!(err.to_string(), text);
    }
}

#[test]
fn setters_fill_every_detail_and_display_shows_them() {
    let e = BlazenError::rate_limit("custom", "slow down")
        .with_status(429)
        .with_code("rpm_exceeded")
        .with_error_type("requests")
        .with_param("model")
        .with_request_id("req_9")
        .with_retry_after(Duration::from_millis(1500))
        .with_raw_body(r#"{"error":"slow down"}"#);
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.code(), Some("rpm_exceeded"));
    assert_eq!(e.error_type(), Some("requests"));
    assert_eq!(e.param(), Some("model"));
    assert_eq!(e.request_id(), Some("req_9"));
    assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    assert_eq!(e.raw_body(), Some(r#"{"error":"slow down"}"#));
    assert_eq!(e.provider(), Some("custom"));
    assert_eq!(
        e.to_string(),
        "rate limited: retry after 1500ms: slow down [custom, HTTP 429, code rpm_exceeded, request id req_9]"
    );
    // Empty strings clear rather than record an empty detail.
    let e = e.with_code("").with_request_id("");
    assert_eq!(e.code(), None);
    assert_eq!(e.request_id(), None);
}

#[test]
fn with_status_follows_the_http_rule_and_with_retryable_overrides() {
    for (status, retryable) in [
        (400, false),
        (404, false),
        (408, true),
        (429, true),
        (500, true),
        (503, true),
        (599, true),
        (600, false),
    ] {
        assert_eq!(
            BlazenError::provider_error("p", "x")
                .with_status(status)
                .is_retryable(),
            retryable,
            "{status}"
        );
    }
    // A status never makes a transient category permanent...
    assert!(BlazenError::rate_limit("p", "x")
        .with_status(400)
        .is_retryable());
    // ... nor quota exhaustion retryable.
    assert!(!BlazenError::quota_exceeded("p", "x")
        .with_status(429)
        .is_retryable());
    assert!(!BlazenError::quota_exceeded("p", "x")
        .with_status(503)
        .is_retryable());
    // The explicit setter decides, in either direction, when called last.
    assert!(!BlazenError::provider_error("p", "x")
        .with_status(503)
        .with_retryable(false)
        .is_retryable());
    assert!(BlazenError::validation("x")
        .with_retryable(true)
        .is_retryable());
    // The category does not change.
    assert_eq!(
        BlazenError::auth("p", "x").with_status(500).kind(),
        Kind::Auth
    );
}

#[test]
fn with_raw_body_caps_on_a_char_boundary_and_redacts() {
    let body = "é".repeat(RAW_BODY_LIMIT); // 2 bytes each: twice the limit
    let e = BlazenError::provider_error("p", "x").with_raw_body(&body);
    let kept = e.raw_body().unwrap();
    assert!(kept.len() <= RAW_BODY_LIMIT && kept.len() >= RAW_BODY_LIMIT - 1);
    assert!(kept.chars().all(|c| c == 'é'));
    let e = BlazenError::provider_error("p", "x")
        .with_raw_body(b"\xff\xfe key sk-abcdefghijklmnopqrstuvwxyz");
    let kept = e.raw_body().unwrap();
    assert!(!kept.contains("abcdefghijklmnop"), "{kept}");
    assert!(kept.contains("[REDACTED]"));
}

#[test]
fn public_constructors_never_leak_keys() {
    let key = "sk-proj-0123456789abcdefghij";
    let errs = [
        BlazenError::auth("c", format!("invalid key {key}")),
        BlazenError::rate_limit("c", format!("key {key} throttled")),
        BlazenError::provider_error("c", format!("Authorization: Bearer {key}")),
        BlazenError::validation(format!("bad {key}")),
        BlazenError::stream("c", key).with_raw_body(format!("echo {key}")),
        BlazenError::invalid_response("c", "junk", format!("{{\"k\":\"{key}\"}}")),
    ];
    for e in errs {
        let shown = format!("{e} {e:?} {:?}", e.raw_body());
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }
}

#[test]
fn from_http_is_the_envelope_parser_of_the_built_in_providers() {
    let h = headers(&[("retry-after-ms", "250"), ("openrouter-request-id", "or_1")]);
    let body = br#"{"error":{"code":429,"message":"Provider returned error","metadata":{"raw":"upstream busy","provider_name":"Groq"}}}"#;
    let a = BlazenError::from_http("custom", 429, &h, body);
    let b = BlazenError::from_http("custom", 429, &h, body);
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.kind(), Kind::RateLimit);
    assert_eq!(a.retry_after(), Some(Duration::from_millis(250)));
    assert_eq!(a.request_id(), Some("or_1"));
    assert_eq!(a.upstream_provider(), Some("Groq"));
    assert!(a.is_retryable());
}

#[test]
fn into_kind_keeps_every_detail() {
    let h = headers(&[("x-request-id", "req_k"), ("retry-after", "3")]);
    let body = br#"{"error":{"message":"slow","code":"some_code","type":"t","param":"p"}}"#;
    let before = BlazenError::from_http("p", 503, &h, body);
    assert!(before.is_retryable());
    let after = before.clone().into_kind(Kind::QuotaExceeded);
    assert_eq!(after.kind(), Kind::QuotaExceeded);
    assert!(!after.is_retryable(), "quota is never retryable");
    assert_eq!(after.status(), Some(503));
    assert_eq!(after.code(), Some("some_code"));
    assert_eq!(after.error_type(), Some("t"));
    assert_eq!(after.param(), Some("p"));
    assert_eq!(after.request_id(), Some("req_k"));
    assert_eq!(after.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(after.raw_body(), before.raw_body());
    assert_eq!(after.message(), "slow");
    assert_eq!(after.provider(), Some("p"));
    // A transient category keeps the error's retryability; the same kind is a no-op.
    assert!(before.clone().into_kind(Kind::Timeout).is_retryable());
    assert_eq!(
        before.clone().into_kind(Kind::Provider).to_string(),
        before.to_string()
    );
    // A timeout keeps its elapsed time through a round trip of the same kind.
    let t = BlazenError::timeout(Duration::from_millis(7)).into_kind(Kind::Timeout);
    assert_eq!(t.to_string(), "timed out after 7ms");
    assert_eq!(t.into_kind(Kind::JobFailed).kind(), Kind::JobFailed);
}

#[test]
fn setter_details_are_redacted_and_capped_too() {
    let key = "sk-live-abcdefghijklmnop";
    let e = BlazenError::provider_error("p", "x")
        .with_code(key)
        .with_request_id(format!("Bearer {key}"))
        .with_error_type("t".repeat(10_000));
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("abcdefghijklmnop"), "{shown}");
    assert!(e.error_type().unwrap().len() <= MESSAGE_LIMIT + '…'.len_utf8());
}
