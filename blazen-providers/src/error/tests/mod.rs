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

mod delays_frames_display_secrets;
