//! Tests of the error model: the code table over every code of the gateway pages (seeds
//! 001–004), every envelope shape, retry delays, retryability rules, stream error frames,
//! Display prefixes, secret redaction, and property tests of the envelope parser.

use super::classify::*;
use super::envelope::*;
use super::headers::*;
use super::redact::*;
use super::*;
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::time::SystemTime;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn resp(provider: &str, status: u16, body: &str) -> BlazenError {
    BlazenError::from_http(provider, status, &HeaderMap::new(), body.as_bytes())
}

fn envelope(code: &str) -> String {
    serde_json::json!({"error": {"message": "something", "type": "some_type", "code": code}})
        .to_string()
}

// ----- the code table: every code of seeds 001, 002, 003, 004 -----------------------------

/// (code, HTTP status the page lists, expected category, expected retryability).
/// Seed 001: the gateway's table of error codes (every row).
const SEED_001: &[(&str, u16, Kind, bool)] = &[
    ("batch_only", 400, Kind::Unsupported, false),
    ("budget_exhausted", 429, Kind::QuotaExceeded, false),
    ("byok_keys_required", 400, Kind::Auth, false),
    ("client_disconnected", 0, Kind::Stream, false),
    ("content_filtered", 400, Kind::ContentPolicy, false),
    ("context_length_exceeded", 400, Kind::Validation, false),
    ("cost_constraint_exceeded", 400, Kind::Unsupported, false),
    ("duplicate_resource", 409, Kind::Validation, false),
    ("expired_api_key", 401, Kind::Auth, false),
    ("feature_disabled", 403, Kind::Unsupported, false),
    ("field_immutable", 400, Kind::Validation, false),
    ("hosted_tool_not_supported", 400, Kind::Unsupported, false),
    ("idempotency_conflict", 409, Kind::Validation, false),
    ("insufficient_permissions", 403, Kind::Auth, false),
    ("insufficient_quota", 429, Kind::QuotaExceeded, false),
    ("internal_error", 500, Kind::Provider, true),
    ("invalid_api_key", 401, Kind::Auth, false),
    ("invalid_parameter_value", 400, Kind::Validation, false),
    ("invalid_recovery_code", 401, Kind::Auth, false),
    ("invalid_request", 400, Kind::Validation, false),
    ("json_mode_not_supported", 400, Kind::Unsupported, false),
    ("latency_constraint_exceeded", 400, Kind::Unsupported, false),
    ("method_not_allowed", 405, Kind::Validation, false),
    ("mfa_required", 403, Kind::Auth, false),
    ("mfa_verification_failed", 401, Kind::Auth, false),
    ("missing_required_parameter", 400, Kind::Validation, false),
    ("model_not_found", 404, Kind::ModelNotFound, false),
    ("model_unavailable", 503, Kind::Provider, true),
    ("no_compatible_endpoint", 400, Kind::Unsupported, false),
    ("no_provider_available", 503, Kind::Provider, true),
    ("no_responses_endpoint", 400, Kind::Unsupported, false),
    ("non_streaming_not_supported", 400, Kind::Unsupported, false),
    ("operation_not_allowed", 400, Kind::Validation, false),
    ("payload_too_large", 413, Kind::TooLarge, false),
    ("platform_keys_unavailable", 400, Kind::Unsupported, false),
    ("provider_blocked", 400, Kind::Unsupported, false),
    ("provider_not_in_allowlist", 400, Kind::Unsupported, false),
    ("rate_limit_exceeded", 429, Kind::RateLimit, true),
    ("reasoning_not_supported", 400, Kind::Unsupported, false),
    (
        "required_params_not_supported",
        400,
        Kind::Unsupported,
        false,
    ),
    ("resource_not_found", 404, Kind::Validation, false),
    ("response_api_only", 400, Kind::Unsupported, false),
    ("service_unavailable", 503, Kind::Provider, true),
    ("state_precondition_failed", 409, Kind::Validation, false),
    ("streaming_not_supported", 400, Kind::Unsupported, false),
    (
        "structured_output_not_supported",
        400,
        Kind::Unsupported,
        false,
    ),
    (
        "thinking_disable_not_supported",
        400,
        Kind::Unsupported,
        false,
    ),
    (
        "throughput_constraint_not_met",
        400,
        Kind::Unsupported,
        false,
    ),
    ("tier_opt_in_required", 400, Kind::Unsupported, false),
    (
        "tool_choice_required_not_supported",
        400,
        Kind::Unsupported,
        false,
    ),
    ("tools_not_supported", 400, Kind::Unsupported, false),
    (
        "tools_with_structured_output_not_supported",
        400,
        Kind::Unsupported,
        false,
    ),
    ("unknown_field", 400, Kind::Validation, false),
    ("unsupported_modalities", 400, Kind::Unsupported, false),
    ("upstream_error", 502, Kind::Provider, true),
    ("upstream_timeout", 504, Kind::Timeout, true),
    ("vision_not_supported", 400, Kind::Unsupported, false),
];

/// Seed 002: its error codes, with the statuses its status table pairs them with.
const SEED_002: &[(&str, u16, Kind, bool)] = &[
    ("budget_exceeded", 402, Kind::QuotaExceeded, false),
    ("rpm_exceeded", 429, Kind::RateLimit, true),
    ("timeout", 504, Kind::Timeout, true),
    ("context_exceeded", 400, Kind::Validation, false),
];

/// Seed 002: the `error.type` of its mid-stream example (`engine_error`, listed by the page
/// among "5xx Server error … Retry with exponential backoff"), here without a code.
const SEED_002_TYPES: &[(&str, u16, Kind, bool)] = &[("engine_error", 500, Kind::Provider, true)];

/// Seed 003: the `error.type` values it shows (status 400 and mid-stream 200).
const SEED_003: &[(&str, u16, Kind, bool)] = &[
    ("invalid_request_error", 400, Kind::Validation, false),
    ("inappropriate_content", 200, Kind::ContentPolicy, false),
];

/// Seed 004: every business code of the new-api table (status 400 for request errors, 5xx for
/// upstream ones, as a gateway sends them).
const SEED_004: &[(&str, u16, Kind, bool)] = &[
    ("invalid_request", 400, Kind::Validation, false),
    ("bad_request_body", 400, Kind::Validation, false),
    ("read_request_body_failed", 400, Kind::Validation, false),
    ("convert_request_failed", 400, Kind::Validation, false),
    ("sensitive_words_detected", 400, Kind::ContentPolicy, false),
    ("prompt_blocked", 400, Kind::ContentPolicy, false),
    ("access_denied", 403, Kind::Auth, false),
    ("model_not_found", 404, Kind::ModelNotFound, false),
    ("invalid_api_type", 400, Kind::Unsupported, false),
    ("get_channel_failed", 503, Kind::Provider, true),
    ("channel:no_available_key", 503, Kind::Provider, true),
    ("channel:invalid_key", 500, Kind::Provider, false),
    ("channel:model_mapped_error", 500, Kind::Provider, false),
    ("channel:response_time_exceeded", 504, Kind::Timeout, true),
    ("insufficient_user_quota", 403, Kind::QuotaExceeded, false),
    (
        "pre_consume_token_quota_failed",
        403,
        Kind::QuotaExceeded,
        false,
    ),
    ("model_price_error", 500, Kind::Provider, false),
    ("count_token_failed", 500, Kind::Validation, false),
    ("do_request_failed", 500, Kind::Provider, true),
    ("bad_response", 502, Kind::Provider, true),
    ("bad_response_status_code", 502, Kind::Provider, true),
    ("empty_response", 502, Kind::Provider, true),
    ("read_response_body_failed", 502, Kind::Provider, true),
    ("json_marshal_failed", 500, Kind::Provider, true),
    ("query_data_error", 500, Kind::Provider, true),
    ("update_data_error", 500, Kind::Provider, true),
];

#[test]
fn every_seed_code_has_a_table_entry_with_the_expected_class() {
    let mut checked = 0;
    for (seed, rows) in [
        ("001", SEED_001),
        ("002", SEED_002),
        ("002 types", SEED_002_TYPES),
        ("003", SEED_003),
        ("004", SEED_004),
    ] {
        for &(code, status, kind, retryable) in rows {
            assert_eq!(
                lookup(code),
                Some((kind, retryable)),
                "seed {seed}: table entry of {code}"
            );
            // Through a real response envelope, with the page's status. Seed 003's values are
            // error types, the others error codes.
            let body = if seed == "003" || seed == "002 types" {
                serde_json::json!({"error": {"type": code, "message": "m"}}).to_string()
            } else {
                envelope(code)
            };
            let err = resp("gateway", status, &body);
            assert_eq!(err.kind(), kind, "seed {seed}: {code} ({status})");
            assert_eq!(
                err.is_retryable(),
                retryable,
                "seed {seed}: {code} retryable"
            );
            assert_eq!(err.status(), Some(status));
            // And as a mid-stream frame (no status): same class.
            let frame = serde_json::from_str::<Value>(&body).unwrap();
            let err = BlazenError::from_stream_frame("gateway", &frame).unwrap();
            assert_eq!(err.kind(), kind, "seed {seed}: {code} as a stream frame");
            assert_eq!(err.is_retryable(), retryable);
            checked += 1;
        }
    }
    assert_eq!(checked, 57 + 4 + 1 + 2 + 26);
}

#[test]
fn engine_error_frame_of_seed_002() {
    // The page's example carries code "timeout" (the code wins: a timeout) ...
    let frame = serde_json::json!({"error": {"message": "Upstream timeout", "type": "engine_error", "code": "timeout"}});
    let e = BlazenError::from_stream_frame("g", &frame).unwrap();
    assert_eq!(e.kind(), Kind::Timeout);
    assert!(e.is_retryable());
    assert_eq!(e.error_type(), Some("engine_error"));
    // ... and without a code or status the type alone makes it a retryable provider failure.
    let frame = serde_json::json!({"error": {"message": "engine crashed", "type": "engine_error"}});
    let e = BlazenError::from_stream_frame("g", &frame).unwrap();
    assert_eq!(e.kind(), Kind::Provider);
    assert!(e.is_retryable());
    assert_eq!(e.status(), None);
}

#[test]
fn the_issue_examples() {
    let e = resp("g", 429, &envelope("budget_exhausted"));
    assert!(matches!(e, BlazenError::QuotaExceeded { .. }));
    assert!(!e.is_retryable());
    let e = resp("g", 429, &envelope("rate_limit_exceeded"));
    assert!(matches!(e, BlazenError::RateLimit { .. }));
    assert!(e.is_retryable());
    assert!(matches!(
        resp("g", 400, &envelope("context_length_exceeded")),
        BlazenError::Validation { .. }
    ));
    assert!(resp("g", 503, &envelope("model_unavailable")).is_retryable());
    assert!(resp("g", 504, &envelope("upstream_timeout")).is_retryable());
    assert!(matches!(
        resp("g", 413, &envelope("payload_too_large")),
        BlazenError::TooLarge { .. }
    ));
    assert!(matches!(
        resp("g", 400, &envelope("content_filtered")),
        BlazenError::ContentPolicy { .. }
    ));
    assert!(matches!(
        resp("g", 400, &envelope("tools_not_supported")),
        BlazenError::Unsupported { .. }
    ));
    let e = resp("g", 0, &envelope("client_disconnected"));
    assert!(matches!(e, BlazenError::Stream { .. }));
    assert_eq!(e.status(), Some(0));
}

#[test]
fn table_has_no_duplicate_keys_and_lookup_is_case_insensitive() {
    let mut keys: Vec<&str> = CODE_TABLE.iter().map(|(k, _, _)| *k).collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate table keys");
    for (k, _, _) in CODE_TABLE {
        assert_eq!(*k, k.to_ascii_lowercase(), "table keys are lowercase");
    }
    assert_eq!(lookup("ThrottlingException"), lookup("throttlingException"));
    assert_eq!(lookup("RESOURCE_EXHAUSTED"), Some((Kind::RateLimit, true)));
}

// ----- status-only rules ---------------------------------------------------------------------

#[test]
fn retryability_by_status_when_no_code_is_known() {
    for (status, kind, retryable) in [
        (400, Kind::Validation, false),
        (401, Kind::Auth, false),
        (402, Kind::QuotaExceeded, false),
        (403, Kind::Auth, false),
        (404, Kind::ModelNotFound, false),
        (408, Kind::Timeout, true),
        (409, Kind::Validation, false),
        (413, Kind::TooLarge, false),
        (422, Kind::Validation, false),
        (429, Kind::RateLimit, true),
        (500, Kind::Provider, true),
        (502, Kind::Provider, true),
        (503, Kind::Provider, true),
        (504, Kind::Timeout, true),
        (529, Kind::Provider, true),
    ] {
        let e = resp("p", status, r#"{"error":{"message":"nope"}}"#);
        assert_eq!(e.kind(), kind, "{status}");
        assert_eq!(e.is_retryable(), retryable, "{status}");
    }
}

#[test]
fn quota_wording_on_a_429_is_not_retryable() {
    let e = resp(
        "openrouter",
        429,
        r#"{"error":{"code":429,"message":"Key limit exceeded: insufficient credits"}}"#,
    );
    assert_eq!(e.kind(), Kind::QuotaExceeded);
    assert!(!e.is_retryable());
}

#[test]
fn x_should_retry_header_wins() {
    let h = headers(&[("x-should-retry", "false")]);
    let e = BlazenError::from_http("openai", 503, &h, b"{}");
    assert!(!e.is_retryable());
    let h = headers(&[("x-should-retry", "true")]);
    let e = BlazenError::from_http("openai", 409, &h, b"{}");
    assert!(e.is_retryable());
    let e = BlazenError::from_http("g", 429, &h, envelope("budget_exhausted").as_bytes());
    assert!(e.is_retryable(), "the header wins even over the table");
}

// ----- envelopes -----------------------------------------------------------------------------

#[test]
fn openai_envelope_keeps_every_field() {
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded","param":null}}"#;
    let h = headers(&[("x-request-id", "req_123"), ("retry-after", "2")]);
    let err = BlazenError::from_http("openai", 429, &h, body.as_bytes());
    assert_eq!(err.kind(), Kind::RateLimit);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some("rate_limit_exceeded"));
    assert_eq!(err.error_type(), Some("requests"));
    assert_eq!(err.provider(), Some("openai"));
    assert_eq!(err.request_id(), Some("req_123"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(err.raw_body(), Some(body));
    assert_eq!(err.param(), None);
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "rate limited: retry after 2000ms: Rate limit reached \
         [openai, HTTP 429, code rate_limit_exceeded, request id req_123]"
    );
}

#[test]
fn openai_param_and_generic_type_with_auth_status() {
    let e = resp(
        "openai",
        400,
        r#"{"error":{"message":"Invalid value for temperature","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#,
    );
    assert_eq!(e.kind(), Kind::Validation);
    assert_eq!(e.param(), Some("temperature"));
    // A 401 with only the generic type is an auth failure, not a validation error.
    let e = resp(
        "openai",
        401,
        r#"{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","code":null}}"#,
    );
    assert_eq!(e.kind(), Kind::Auth);
    assert_eq!(e.code(), None);
    assert!(e.to_string().starts_with("authentication failed: "));
}

#[test]
fn openai_insufficient_quota_429() {
    let e = resp(
        "openai",
        429,
        r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
    );
    assert!(matches!(e, BlazenError::QuotaExceeded { .. }));
    assert!(!e.is_retryable());
    assert!(e.to_string().starts_with("quota exceeded: You exceeded"));
}

#[test]
fn openrouter_numeric_code_and_metadata() {
    let e = resp(
        "openrouter",
        429,
        r#"{"error":{"code":429,"message":"Provider returned error","metadata":{"raw":"google/gemini is temporarily rate-limited upstream","provider_name":"Google AI Studio"}},"user_id":"user_x"}"#,
    );
    assert_eq!(e.kind(), Kind::RateLimit);
    assert_eq!(e.code(), Some("429"));
    assert_eq!(e.upstream_provider(), Some("Google AI Studio"));
    assert!(e.message().contains("temporarily rate-limited upstream"));
    assert!(e.is_retryable());
}

#[test]
fn new_api_envelope() {
    let e = resp(
        "newapi",
        503,
        r#"{"error":{"message":"no available key for channel","type":"new_api_error","param":"","code":"channel:no_available_key"}}"#,
    );
    assert_eq!(e.kind(), Kind::Provider);
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some("channel:no_available_key"));
    assert_eq!(e.error_type(), Some("new_api_error"));
    assert!(e.to_string().starts_with("newapi error: no available key"));
}

#[test]
fn anthropic_envelope() {
    let h = headers(&[("request-id", "req_011")]);
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_body"}"#;
    let e = BlazenError::from_http("anthropic", 529, &h, body.as_bytes());
    assert_eq!(e.kind(), Kind::Provider);
    assert!(e.is_retryable());
    assert_eq!(e.error_type(), Some("overloaded_error"));
    assert_eq!(
        e.request_id(),
        Some("req_011"),
        "the header wins over the body"
    );
    assert_eq!(
        e.to_string(),
        "anthropic error: Overloaded [HTTP 529, type overloaded_error, request id req_011]"
    );
    let e = resp(
        "anthropic",
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_2"}"#,
    );
    assert_eq!(e.kind(), Kind::Auth);
    assert_eq!(e.request_id(), Some("req_2"));
    let e = resp(
        "anthropic",
        404,
        r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#,
    );
    assert!(matches!(e, BlazenError::ModelNotFound { .. }));
    assert!(e
        .to_string()
        .starts_with("model not found: model: claude-9"));
}

#[test]
fn gemini_envelope_with_retry_info() {
    let body = r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#;
    let e = resp("gemini", 429, body);
    assert_eq!(e.kind(), Kind::RateLimit);
    assert!(e.is_retryable());
    assert_eq!(e.error_type(), Some("RESOURCE_EXHAUSTED"));
    assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    assert!(e
        .to_string()
        .starts_with("rate limited: retry after 1500ms: Resource"));
}

#[test]
fn gemini_invalid_key_is_auth_through_error_info() {
    let body = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
    let e = resp("gemini", 400, body);
    assert_eq!(e.kind(), Kind::Auth);
    assert_eq!(e.code(), Some("API_KEY_INVALID"));
    let e = resp(
        "gemini",
        400,
        r#"{"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}}"#,
    );
    assert_eq!(e.kind(), Kind::Validation);
    let e = resp(
        "gemini",
        503,
        r#"[{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]"#,
    );
    assert_eq!(e.kind(), Kind::Provider);
    assert!(e.is_retryable());
}

#[test]
fn seed_002_and_003_shapes() {
    let e = resp(
        "gw",
        402,
        r#"{"error":{"message":"Key budget reached","type":"billing","code":"budget_exceeded"}}"#,
    );
    assert_eq!(e.kind(), Kind::QuotaExceeded);
    let e = resp(
        "gw",
        400,
        r#"{"error":{"type":"invalid_request_error","message":"Human-readable description"}}"#,
    );
    assert_eq!(e.kind(), Kind::Validation);
    assert_eq!(e.error_type(), Some("invalid_request_error"));
    let e = resp("gw", 413, r#"{"error":{"message":"audio over 75 MB"}}"#);
    assert!(matches!(e, BlazenError::TooLarge { .. }));
    assert!(e
        .to_string()
        .starts_with("media too large: audio over 75 MB"));
}

#[test]
fn aws_bodies_and_header_type() {
    let h = headers(&[
        (
            "x-amzn-errortype",
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        ),
        ("x-amzn-requestid", "abc-123"),
    ]);
    let e = BlazenError::from_http(
        "bedrock",
        429,
        &h,
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    );
    assert_eq!(e.kind(), Kind::RateLimit);
    assert_eq!(e.error_type(), Some("ThrottlingException"));
    assert_eq!(e.request_id(), Some("abc-123"));
    let e = resp(
        "bedrock",
        400,
        r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Malformed input request"}"#,
    );
    assert_eq!(e.kind(), Kind::Validation);
    assert_eq!(e.error_type(), Some("ValidationException"));
}

#[test]
fn fastapi_and_plain_message_bodies() {
    let e = resp(
        "fal",
        422,
        r#"{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"missing"}]}"#,
    );
    assert_eq!(e.kind(), Kind::Validation);
    assert_eq!(e.message(), "field required");
    let e = resp("fal", 404, r#"{"detail":"Not Found"}"#);
    assert_eq!(e.message(), "Not Found");
    let e = resp(
        "cohere",
        400,
        r#"{"id":"x","message":"invalid request: model is required"}"#,
    );
    assert_eq!(e.message(), "invalid request: model is required");
    let e = resp("x", 401, r#"{"error":"invalid_api_key"}"#);
    assert_eq!(e.code(), Some("invalid_api_key"));
    assert_eq!(e.kind(), Kind::Auth);
    let e = resp("x", 401, r#"{"error":"Unauthorized"}"#);
    assert_eq!(e.code(), None);
    assert_eq!(e.message(), "Unauthorized");
}

#[test]
fn proxy_bodies_plain_html_empty() {
    let e = resp("openai", 502, "");
    assert_eq!(e.message(), "empty response body (HTTP 502)");
    assert_eq!(e.status(), Some(502));
    assert!(e.is_retryable());
    assert_eq!(e.raw_body(), Some(""));

    let e = resp(
        "openai",
        503,
        "upstream connect error or disconnect/reset before headers\nmore",
    );
    assert_eq!(
        e.message(),
        "HTTP 503: upstream connect error or disconnect/reset before headers"
    );
    assert!(e.is_retryable());

    let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>";
    let h = headers(&[("cf-ray", "8a1b2c3d4e5f-AMS")]);
    let e = BlazenError::from_http("openai", 502, &h, html.as_bytes());
    assert_eq!(
        e.message(),
        "HTTP 502 with an HTML page (likely from a proxy): 502 Bad Gateway"
    );
    assert_eq!(e.request_id(), Some("8a1b2c3d4e5f-AMS"));
    // The provider's own id wins over the proxy's, in whatever order the headers came.
    let h = headers(&[
        ("cf-ray", "8a1b2c3d4e5f-AMS"),
        ("x-request-id", " "),
        ("openrouter-request-id", "gen-1"),
        ("x-amzn-requestid", "amz-1"),
    ]);
    assert_eq!(super::request_id_from(&h).as_deref(), Some("amz-1"));
    assert!(e
        .to_string()
        .starts_with("openai error: HTTP 502 with an HTML page"));

    let e = resp("openai", 413, "<h1>Request Entity Too Large</h1>");
    assert_eq!(e.kind(), Kind::TooLarge);
    assert!(e.message().ends_with("Request Entity Too Large"));

    // Invalid UTF-8 is kept lossily, never a panic.
    let e = BlazenError::from_http("x", 500, &HeaderMap::new(), b"\xff\xfe oops");
    assert!(e.message().contains("oops"));
}

#[test]
fn raw_body_is_capped_on_a_char_boundary() {
    let body = format!(
        "{{\"error\":{{\"message\":\"{}\"}}}}",
        "é".repeat(RAW_BODY_LIMIT)
    );
    let e = resp("x", 500, &body);
    let raw = e.raw_body().unwrap();
    assert!(raw.len() <= RAW_BODY_LIMIT);
    assert!(raw.len() > RAW_BODY_LIMIT - 4);
    assert!(e.message().len() <= MESSAGE_LIMIT + '…'.len_utf8());
}

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
