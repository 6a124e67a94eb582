//! Classification: the table of machine codes, the category a status alone names, and the
//! constructors that classify a response, a stream frame, a transport error or an AWS exception.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::envelope::{is_error_value, parse_body, read_error_object, says_moderation, Envelope};
use super::headers::{header_str, parse_bool, request_id_from, retry_after_from};
use super::{
    cap_message, cap_raw, raw_body_text, redact_patterns, BlazenError, ErrorDetails, Kind,
};

/// Classifying constructors: what the built-in providers use, public so that a custom HTTP
/// provider classifies its responses and stream frames the same way.
impl BlazenError {
    /// An error from a non-success HTTP response, classified exactly as the built-in providers
    /// classify theirs: parses the body's error envelope (every shape of the module docs:
    /// OpenAI, OpenRouter, new-api, Anthropic, Gemini, AWS, FastAPI, plain text, HTML, empty),
    /// reads the request id (`x-request-id`, `request-id`, `cf-ray`, …), the retry delay
    /// (`retry-after-ms`, `Retry-After`, Gemini `RetryInfo`) and `x-should-retry` from the
    /// headers and body, classifies by machine code, type and status, and keeps the body
    /// (capped at 64 KiB, secrets redacted).
    ///
    /// `headers` is an [`http::HeaderMap`](reqwest::header::HeaderMap) — the type `reqwest`,
    /// `hyper` and `axum` use.
    ///
    /// ```
    /// use std::time::Duration;
    /// use blazen_providers::BlazenError;
    /// use reqwest::header::{HeaderMap, HeaderValue};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("retry-after", HeaderValue::from_static("2"));
    /// headers.insert("x-request-id", HeaderValue::from_static("req_42"));
    /// let body = br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#;
    /// let err = BlazenError::from_http("my-llm", 429, &headers, body);
    /// assert!(matches!(err, BlazenError::RateLimit { .. }));
    /// assert!(err.is_retryable());
    /// assert_eq!(err.code(), Some("rate_limit_exceeded"));
    /// assert_eq!(err.request_id(), Some("req_42"));
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    /// assert_eq!(err.raw_body(), Some(std::str::from_utf8(body).unwrap()));
    ///
    /// // A quota code wins over the 429: not retryable.
    /// let body = br#"{"error":{"message":"budget spent","code":"budget_exhausted"}}"#;
    /// let err = BlazenError::from_http("my-llm", 429, &HeaderMap::new(), body);
    /// assert!(matches!(err, BlazenError::QuotaExceeded { .. }));
    /// assert!(!err.is_retryable());
    /// ```
    pub fn from_http(provider: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut env = parse_body(body, status);
        if env.error_type.is_none() {
            // AWS puts the type in a header: "ValidationException:http://internal.amazon.com/…".
            env.error_type = header_str(headers, "x-amzn-errortype")
                .map(|t| t.split(':').next().unwrap_or(t).trim().to_owned())
                .filter(|t| !t.is_empty());
        }
        let mut details = ErrorDetails::with_provider(provider);
        details.status = Some(status);
        details.request_id = request_id_from(headers).or(env.request_id.take());
        details.retry_after = retry_after_from(headers).or(env.retry_after);
        details.should_retry = header_str(headers, "x-should-retry").and_then(parse_bool);
        details.raw_body = Some(raw_body_text(body));
        Self::from_envelope(env, details)
    }

    /// Detects an error object in a decoded stream data frame and turns it into an error,
    /// classified like [`BlazenError::from_http`].
    ///
    /// Recognised: `{"error":{…}}` / `{"error":"…"}` (OpenAI-compatible, OpenRouter, Gemini,
    /// gateways), `{"type":"error","error":{…}}` (Anthropic `event: error`),
    /// `{"type":"error","code","message"}` and `{"type":"response.failed","response":{"error":…}}`
    /// (OpenAI Responses). Returns `None` for a normal frame, including one whose `error` is
    /// `null`, `false`, `""` or `{}`.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    /// use serde_json::json;
    ///
    /// let frame = json!({"error": {"message": "Upstream timeout", "type": "engine_error", "code": "timeout"}});
    /// let err = BlazenError::from_stream_frame("my-llm", &frame).unwrap();
    /// assert!(matches!(err, BlazenError::Timeout { .. }));
    /// assert!(err.is_retryable());
    /// assert!(BlazenError::from_stream_frame("my-llm", &json!({"choices": [], "error": {}})).is_none());
    /// ```
    pub fn from_stream_frame(provider: &str, frame: &Value) -> Option<Self> {
        let obj = frame.as_object()?;
        let ty = obj.get("type").and_then(Value::as_str);
        let failed = Value::String("response failed".to_owned());
        let err = match ty {
            Some("error") => match obj.get("error") {
                Some(e) if is_error_value(e) => e,
                _ => frame,
            },
            // A failed response is never a success, even without an error object.
            Some("response.failed") => obj
                .get("response")
                .and_then(|r| r.get("error"))
                .filter(|e| is_error_value(e))
                .unwrap_or(&failed),
            _ => obj.get("error").filter(|e| is_error_value(e))?,
        };
        let mut env = Envelope::default();
        match err {
            Value::String(s) => env.message = Some(s.clone()),
            Value::Object(_) => read_error_object(err, &mut env),
            _ => env.message = Some(err.to_string()),
        }
        if env.request_id.is_none() {
            env.request_id = obj
                .get("request_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        let mut details = ErrorDetails::with_provider(provider);
        details.status = env.numeric_status();
        details.request_id = env.request_id.take();
        details.retry_after = env.retry_after;
        details.raw_body = Some(cap_raw(&redact_patterns(&frame.to_string())));
        if env.message.as_deref().is_none_or(str::is_empty) {
            env.message = Some("error frame in stream".to_owned());
        }
        Some(Self::from_envelope(env, details))
    }
}

// Crate-internal classifying constructors, for the HTTP layer and the native providers.
impl BlazenError {
    /// Classifies a parsed envelope and builds the error.
    fn from_envelope(env: Envelope, mut details: ErrorDetails) -> Self {
        let status = details.status;
        let by_status = kind_from_status(status, env.message.as_deref());
        let entry = match env.code.as_deref().and_then(lookup) {
            Some(entry) => Some(entry),
            // A generic request-error type ("invalid_request_error", "INVALID_ARGUMENT") says
            // less than a specific status: a 401 with that type is still an auth failure.
            None => env
                .error_type
                .as_deref()
                .and_then(lookup)
                .filter(|(kind, _)| *kind != Kind::Validation || !status_is_specific(status)),
        };
        let by_code = env.code.as_deref().and_then(lookup).is_some();
        let (mut kind, table_retryable) = match entry {
            Some((kind, retryable)) => (kind, Some(retryable)),
            None => (by_status, None),
        };
        // A 400 or 403 (or a generic request-error type) that says moderation or a content
        // filter refused the request is a content-policy refusal, not a bad key or a bad
        // parameter (seed 003: "403 Access blocked, denied, or filtered"; OpenRouter's
        // moderation 403). A specific machine code is trusted over the wording.
        // A request refused because its model does not exist is `ModelNotFound` whatever the
        // status (gateways answer 400: LiteLLM's "Invalid model name passed in model=…",
        // OpenRouter's "… is not a valid model ID"), so `with_fallback` moves on to the next
        // model as it does for a 404.
        if matches!(kind, Kind::Validation)
            && matches!(status, None | Some(0 | 200 | 400 | 404 | 422))
            && env.message.as_deref().is_some_and(says_model_missing)
        {
            kind = Kind::ModelNotFound;
        }
        if !by_code
            && matches!(kind, Kind::Auth | Kind::Validation)
            && matches!(status, None | Some(0 | 200 | 400 | 403))
            && (env.moderation || env.message.as_deref().is_some_and(says_moderation))
        {
            kind = Kind::ContentPolicy;
        }
        let retryable = details.should_retry.unwrap_or_else(|| {
            table_retryable.unwrap_or_else(|| match kind {
                Kind::QuotaExceeded => false,
                _ => match status {
                    Some(s) if s != 0 => status_is_retryable(s),
                    _ => kind.default_retryable(),
                },
            })
        });
        details.retryable = retryable;
        details.code = env.code;
        details.error_type = env.error_type;
        details.param = env.param;
        details.upstream_provider = env.upstream_provider;
        let message = cap_message(&redact_patterns(
            env.message.as_deref().unwrap_or("unknown error"),
        ));
        Self::build(kind, message, details)
    }

    /// A transport error from reqwest: timeouts become [`BlazenError::Timeout`], connection
    /// and send failures a retryable [`BlazenError::Connection`], body read failures a
    /// retryable [`BlazenError::Stream`]. The URL (which may carry a key) is stripped.
    pub(crate) fn from_reqwest(provider: &str, err: reqwest::Error) -> Self {
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        let message = cap_message(&redact_patterns(&message));
        let mut details = ErrorDetails::with_provider(provider);
        let kind = if err.is_timeout() {
            Kind::Timeout
        } else if err.is_builder() {
            Kind::Validation
        } else if err.is_status() {
            details.status = err.status().map(|s| s.as_u16());
            kind_from_status(details.status, None)
        } else if err.is_body() || err.is_decode() {
            Kind::Stream
        } else if err.is_redirect() {
            Kind::Provider
        } else {
            // Connect, request-send and unclassified errors are transport failures.
            Kind::Connection
        };
        details.retryable = match details.status {
            Some(s) => status_is_retryable(s),
            None => kind.default_retryable(),
        };
        let source: Arc<dyn std::error::Error + Send + Sync> = Arc::new(err);
        match Self::build(kind, message, details) {
            Self::Timeout {
                elapsed,
                message,
                details,
                ..
            } => Self::Timeout {
                elapsed,
                message,
                details,
                source: Some(source),
            },
            Self::Connection {
                message, details, ..
            } => Self::Connection {
                message,
                details,
                source: Some(source),
            },
            other => other,
        }
    }

    /// An in-stream AWS exception (`:message-type` `exception` / `error` of an event-stream
    /// frame): classified by its exception type (`throttlingException`, …) through the same
    /// table as HTTP error codes. `payload` is the frame's payload (JSON with a `message`).
    pub(crate) fn from_aws_exception(provider: &str, exception_type: &str, payload: &[u8]) -> Self {
        let mut env = Envelope::default();
        if let Ok(v) = serde_json::from_slice::<Value>(payload) {
            if v.is_object() {
                read_error_object(&v, &mut env);
            }
        }
        if env.message.as_deref().is_none_or(str::is_empty) {
            let text = String::from_utf8_lossy(payload);
            let text = text.trim();
            env.message = Some(if text.is_empty() || text == "{}" {
                exception_type.to_owned()
            } else {
                text.to_owned()
            });
        }
        // The exception type is the classification; an unknown one (no status either) is a
        // provider error that is not assumed transient.
        env.error_type = Some(exception_type.to_owned());
        env.code = None;
        let mut details = ErrorDetails::with_provider(provider);
        details.raw_body = Some(raw_body_text(payload));
        Self::from_envelope(env, details)
    }
}

/// Whether an HTTP status alone says that sending the request again can help: 408, 429 and
/// 5xx (the rule of [`BlazenError::is_retryable`]; quota exhaustion is the exception the
/// callers make).
pub(super) fn status_is_retryable(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Every machine code of the gateway error pages (seeds 001–004) and the native error types of
/// the providers, with its category and whether a retry can help. Keys are lowercase; lookup is
/// case-insensitive (AWS sends `throttlingException` in streams, `ThrottlingException` in bodies).
pub(crate) const CODE_TABLE: &[(&str, Kind, bool)] = &[
    // --- seed 001 (gateway error codes) ---
    ("batch_only", Kind::Unsupported, false),
    ("budget_exhausted", Kind::QuotaExceeded, false),
    ("byok_keys_required", Kind::Auth, false),
    // The client closed the connection: a cancellation on our side, not to be retried.
    ("client_disconnected", Kind::Stream, false),
    ("content_filtered", Kind::ContentPolicy, false),
    ("context_length_exceeded", Kind::Validation, false),
    ("cost_constraint_exceeded", Kind::Unsupported, false),
    ("duplicate_resource", Kind::Validation, false),
    ("expired_api_key", Kind::Auth, false),
    ("feature_disabled", Kind::Unsupported, false),
    ("field_immutable", Kind::Validation, false),
    ("hosted_tool_not_supported", Kind::Unsupported, false),
    ("idempotency_conflict", Kind::Validation, false),
    ("insufficient_permissions", Kind::Auth, false),
    ("insufficient_quota", Kind::QuotaExceeded, false),
    ("internal_error", Kind::Provider, true),
    ("invalid_api_key", Kind::Auth, false),
    ("invalid_parameter_value", Kind::Validation, false),
    ("invalid_recovery_code", Kind::Auth, false),
    ("invalid_request", Kind::Validation, false),
    ("json_mode_not_supported", Kind::Unsupported, false),
    ("latency_constraint_exceeded", Kind::Unsupported, false),
    ("method_not_allowed", Kind::Validation, false),
    ("mfa_required", Kind::Auth, false),
    ("mfa_verification_failed", Kind::Auth, false),
    ("missing_required_parameter", Kind::Validation, false),
    ("model_not_found", Kind::ModelNotFound, false),
    ("model_unavailable", Kind::Provider, true),
    ("no_compatible_endpoint", Kind::Unsupported, false),
    ("no_provider_available", Kind::Provider, true),
    ("no_responses_endpoint", Kind::Unsupported, false),
    ("non_streaming_not_supported", Kind::Unsupported, false),
    ("operation_not_allowed", Kind::Validation, false),
    ("payload_too_large", Kind::TooLarge, false),
    ("platform_keys_unavailable", Kind::Unsupported, false),
    ("provider_blocked", Kind::Unsupported, false),
    ("provider_not_in_allowlist", Kind::Unsupported, false),
    ("rate_limit_exceeded", Kind::RateLimit, true),
    ("reasoning_not_supported", Kind::Unsupported, false),
    ("required_params_not_supported", Kind::Unsupported, false),
    ("resource_not_found", Kind::Validation, false),
    ("response_api_only", Kind::Unsupported, false),
    ("service_unavailable", Kind::Provider, true),
    ("state_precondition_failed", Kind::Validation, false),
    ("streaming_not_supported", Kind::Unsupported, false),
    ("structured_output_not_supported", Kind::Unsupported, false),
    ("thinking_disable_not_supported", Kind::Unsupported, false),
    ("throughput_constraint_not_met", Kind::Unsupported, false),
    ("tier_opt_in_required", Kind::Unsupported, false),
    (
        "tool_choice_required_not_supported",
        Kind::Unsupported,
        false,
    ),
    ("tools_not_supported", Kind::Unsupported, false),
    (
        "tools_with_structured_output_not_supported",
        Kind::Unsupported,
        false,
    ),
    ("unknown_field", Kind::Validation, false),
    ("unsupported_modalities", Kind::Unsupported, false),
    ("upstream_error", Kind::Provider, true),
    ("upstream_timeout", Kind::Timeout, true),
    ("vision_not_supported", Kind::Unsupported, false),
    // --- seed 002 ---
    ("budget_exceeded", Kind::QuotaExceeded, false),
    ("rpm_exceeded", Kind::RateLimit, true),
    ("timeout", Kind::Timeout, true),
    ("context_exceeded", Kind::Validation, false),
    // Seed 002's mid-stream error type ("Upstream timeout"): the serving engine failed, which
    // the page files under "5xx Server error … Retry with exponential backoff".
    ("engine_error", Kind::Provider, true),
    // --- seed 003 (error.type values) ---
    ("invalid_request_error", Kind::Validation, false),
    ("inappropriate_content", Kind::ContentPolicy, false),
    // --- seed 004 (new-api business codes; invalid_request and model_not_found above) ---
    ("bad_request_body", Kind::Validation, false),
    ("read_request_body_failed", Kind::Validation, false),
    ("convert_request_failed", Kind::Validation, false),
    ("sensitive_words_detected", Kind::ContentPolicy, false),
    ("prompt_blocked", Kind::ContentPolicy, false),
    ("access_denied", Kind::Auth, false),
    ("invalid_api_type", Kind::Unsupported, false),
    ("get_channel_failed", Kind::Provider, true),
    ("channel:no_available_key", Kind::Provider, true),
    ("channel:invalid_key", Kind::Provider, false),
    ("channel:model_mapped_error", Kind::Provider, false),
    ("channel:response_time_exceeded", Kind::Timeout, true),
    ("insufficient_user_quota", Kind::QuotaExceeded, false),
    ("pre_consume_token_quota_failed", Kind::QuotaExceeded, false),
    ("model_price_error", Kind::Provider, false),
    ("count_token_failed", Kind::Validation, false),
    ("do_request_failed", Kind::Provider, true),
    ("bad_response", Kind::Provider, true),
    ("bad_response_status_code", Kind::Provider, true),
    ("empty_response", Kind::Provider, true),
    ("read_response_body_failed", Kind::Provider, true),
    ("json_marshal_failed", Kind::Provider, true),
    ("query_data_error", Kind::Provider, true),
    ("update_data_error", Kind::Provider, true),
    // --- OpenAI and Anthropic error types and codes ---
    ("authentication_error", Kind::Auth, false),
    ("permission_error", Kind::Auth, false),
    ("not_found_error", Kind::ModelNotFound, false),
    ("rate_limit_error", Kind::RateLimit, true),
    ("api_error", Kind::Provider, true),
    ("overloaded_error", Kind::Provider, true),
    ("server_error", Kind::Provider, true),
    ("request_too_large", Kind::TooLarge, false),
    ("billing_error", Kind::QuotaExceeded, false),
    ("timeout_error", Kind::Timeout, true),
    ("content_policy_violation", Kind::ContentPolicy, false),
    ("content_filter", Kind::ContentPolicy, false),
    ("unsupported_parameter", Kind::Unsupported, false),
    ("unsupported_value", Kind::Validation, false),
    ("invalid_value", Kind::Validation, false),
    ("model_not_available", Kind::Provider, true),
    // --- Gemini (google.rpc) status names ---
    ("invalid_argument", Kind::Validation, false),
    ("failed_precondition", Kind::Validation, false),
    ("out_of_range", Kind::Validation, false),
    ("unauthenticated", Kind::Auth, false),
    ("permission_denied", Kind::Auth, false),
    ("not_found", Kind::ModelNotFound, false),
    ("resource_exhausted", Kind::RateLimit, true),
    ("internal", Kind::Provider, true),
    ("unavailable", Kind::Provider, true),
    ("deadline_exceeded", Kind::Timeout, true),
    ("aborted", Kind::Provider, true),
    ("cancelled", Kind::Cancelled, false),
    // Gemini ErrorInfo reasons.
    ("api_key_invalid", Kind::Auth, false),
    ("api_key_expired", Kind::Auth, false),
    // --- AWS / Bedrock exceptions (bodies and event-stream frames) ---
    ("throttlingexception", Kind::RateLimit, true),
    ("modelstreamerrorexception", Kind::Stream, true),
    ("validationexception", Kind::Validation, false),
    ("internalserverexception", Kind::Provider, true),
    ("serviceunavailableexception", Kind::Provider, true),
    ("modeltimeoutexception", Kind::Timeout, true),
    ("modelnotreadyexception", Kind::Provider, true),
    ("modelerrorexception", Kind::Provider, false),
    ("accessdeniedexception", Kind::Auth, false),
    ("unrecognizedclientexception", Kind::Auth, false),
    ("expiredtokenexception", Kind::Auth, false),
    ("resourcenotfoundexception", Kind::ModelNotFound, false),
    ("servicequotaexceededexception", Kind::QuotaExceeded, false),
];

/// The table entry of a code or type, case-insensitively.
pub(crate) fn lookup(code: &str) -> Option<(Kind, bool)> {
    let code = code.trim();
    CODE_TABLE
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(code))
        .map(|&(_, k, r)| (k, r))
}

/// Whether a message says the requested model does not exist, in the words of the gateways and
/// servers that answer so with a 400 (or a 404 without a code): LiteLLM ("Invalid model name
/// passed in model=…"), OpenRouter ("… is not a valid model ID"), Mistral ("Invalid model: …"),
/// OpenAI-compatible servers ("The model `…` does not exist"), Ollama ("model '…' not found"),
/// Together ("Unable to access model …").
pub(super) fn says_model_missing(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    const PHRASES: [&str; 7] = [
        "invalid model name",
        "is not a valid model",
        "invalid model:",
        "unknown model",
        "no such model",
        "unable to access model",
        "model_not_found",
    ];
    PHRASES.iter().any(|p| lower.contains(p))
        || (lower.contains("model")
            && (lower.contains("does not exist") || lower.contains("not found")))
}

/// Whether `status` alone names a category more specific than "invalid request" (401, 402,
/// 403, 404, 408, 413, 429, 5xx).
pub(super) fn status_is_specific(status: Option<u16>) -> bool {
    matches!(status, Some(401..=404 | 408 | 413 | 429 | 500..=599))
}

/// The category of an error known only by its status (and message, for a few hints).
pub(super) fn kind_from_status(status: Option<u16>, message: Option<&str>) -> Kind {
    let lower = message.map(str::to_ascii_lowercase).unwrap_or_default();
    match status {
        Some(401 | 403) => Kind::Auth,
        Some(402) => Kind::QuotaExceeded,
        // Seeds 002 and 004: "Unknown endpoint or model id", "Path or model does not exist".
        // From the caller's side both mean this model cannot be reached here (OpenRouter's "No
        // endpoints found for X", a wrong base URL), so the fallback middleware tries the next.
        Some(404) => Kind::ModelNotFound,
        Some(408) => Kind::Timeout,
        Some(413) => Kind::TooLarge,
        Some(400 | 409 | 422) => Kind::Validation,
        Some(429)
            if ["credit", "budget", "billing", "balance"]
                .iter()
                .any(|w| lower.contains(w)) =>
        {
            Kind::QuotaExceeded
        }
        Some(429) => Kind::RateLimit,
        Some(504) => Kind::Timeout,
        _ => Kind::Provider,
    }
}
