//! The public constructors and builder setters of [`BlazenError`] (one per category, one per
//! detail), and the crate-internal ones the middleware uses.

use std::time::Duration;

use super::classify::status_is_retryable;
use super::{cap_message, raw_body_text, redact_patterns, BlazenError, ErrorDetails, Kind};

// ----- constructors ------------------------------------------------------------------------

/// Constructors and builder setters, public so that a custom [`Provider`](crate::Provider) or
/// [`EmbeddingProvider`](crate::EmbeddingProvider) (and a test double) reports failures in the
/// same categories as the built-in providers, and the retry and fallback middleware treat them
/// alike.
///
/// Each constructor gives its category's default retryability: rate limits, timeouts, broken
/// streams and connection failures are retryable, everything else is not. The setters add what
/// a provider told us; [`BlazenError::with_status`] also applies the HTTP rule of
/// [`BlazenError::is_retryable`] (408, 429 and 5xx are retryable, except quota exhaustion), and
/// [`BlazenError::with_retryable`] decides explicitly. Messages, raw bodies and the details
/// given to setters are scrubbed of secret-looking patterns (`Bearer …`, `sk-…`, `AIza…`,
/// `key=…`) and capped, like every error.
///
/// A custom HTTP provider does not need to classify anything itself: [`BlazenError::from_http`]
/// gives it the envelope parsing and the code table of the built-in providers, and
/// [`BlazenError::from_stream_frame`] recognises an error frame in a stream.
impl BlazenError {
    /// The credentials were missing, wrong, expired or lack a permission. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::auth("my-llm", "invalid API key").with_status(401);
    /// assert!(matches!(err, BlazenError::Auth { .. }));
    /// assert_eq!(err.to_string(), "authentication failed: invalid API key [my-llm, HTTP 401]");
    /// assert!(!err.is_retryable());
    /// ```
    pub fn auth(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::Auth, provider, message)
    }

    /// Too many requests. Retryable; give the server's delay with
    /// [`BlazenError::with_retry_after`] and the retry middleware waits that long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::rate_limit("my-llm", "")
    ///     .with_status(429)
    ///     .with_retry_after(Duration::from_secs(1));
    /// assert!(err.is_retryable());
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    /// assert!(err.to_string().starts_with("rate limited: retry after 1000ms"));
    /// ```
    pub fn rate_limit(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::RateLimit, provider, message)
    }

    /// A deadline expired after `elapsed`. Retryable. Name the provider with
    /// [`BlazenError::with_provider`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::timeout(Duration::from_secs(30)).with_provider("my-llm");
    /// assert_eq!(err.to_string(), "timed out after 30000ms [my-llm]");
    /// assert!(err.is_retryable());
    /// ```
    pub fn timeout(elapsed: Duration) -> Self {
        let details = ErrorDetails {
            retryable: true,
            ..ErrorDetails::default()
        };
        Self::Timeout {
            elapsed: Some(elapsed),
            message: String::new(),
            details: Box::new(details),
            source: None,
        }
    }

    /// The provider failed in a way no other category describes (typically a 5xx). Not
    /// retryable by itself; [`BlazenError::with_status`] with a 5xx makes it retryable.
    ///
    /// (Named `provider_error` because [`BlazenError::provider`] reads the provider's name.)
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::provider_error("my-llm", "engine crashed");
    /// assert_eq!(err.to_string(), "my-llm error: engine crashed");
    /// assert!(!err.is_retryable());
    /// let err = err.with_status(503);
    /// assert!(err.is_retryable());
    /// assert_eq!(err.status(), Some(503));
    /// ```
    pub fn provider_error(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::Provider, provider, message)
    }

    /// The request is invalid (a bad parameter, the context window exceeded, …). Not
    /// retryable. Name the provider with [`BlazenError::with_provider`] when it said so.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::validation("temperature must be >= 0").with_param("temperature");
    /// assert_eq!(err.to_string(), "invalid input: temperature must be >= 0");
    /// assert_eq!(err.param(), Some("temperature"));
    /// assert!(!err.is_retryable());
    /// ```
    pub fn validation(message: impl Into<String>) -> Self {
        Self::simple(Kind::Validation, "", message)
    }

    /// A content filter or moderation refused the input or the output. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::content_policy("my-llm", "prompt flagged: violence");
    /// assert!(matches!(err, BlazenError::ContentPolicy { .. }));
    /// assert!(err.to_string().starts_with("content policy violation: prompt flagged"));
    /// ```
    pub fn content_policy(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::ContentPolicy, provider, message)
    }

    /// The model or provider cannot do what was asked (streaming, tools, vision, …). Not
    /// retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::unsupported("tools are not supported").with_provider("my-llm");
    /// assert_eq!(err.to_string(), "unsupported: tools are not supported [my-llm]");
    /// ```
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::simple(Kind::Unsupported, "", message)
    }

    /// The model answered without any content. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::no_content("my-llm");
    /// assert_eq!(err.to_string(), "model returned no content [my-llm]");
    /// ```
    pub fn no_content(provider: &str) -> Self {
        Self::simple(Kind::NoContent, provider, "")
    }

    /// The model id (or the endpoint serving it) is unknown to the provider. Not retryable;
    /// [`CompletionModel::with_fallback`](crate::CompletionModel::with_fallback) tries the next
    /// model.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::model_not_found("my-llm", "gpt-7").with_status(404);
    /// assert_eq!(err.to_string(), "model not found: gpt-7 [my-llm, HTTP 404]");
    /// assert!(!err.is_retryable());
    /// ```
    pub fn model_not_found(provider: &str, model: impl Into<String>) -> Self {
        Self::simple(Kind::ModelNotFound, provider, model)
    }

    /// The provider answered something we could not understand; `raw` is kept (capped,
    /// redacted) in [`BlazenError::raw_body`]. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::invalid_response("my-llm", "malformed JSON", b"{\"choi");
    /// assert_eq!(err.raw_body(), Some("{\"choi"));
    /// assert!(err.to_string().starts_with("invalid response: malformed JSON"));
    /// ```
    pub fn invalid_response(
        provider: &str,
        message: impl Into<String>,
        raw: impl AsRef<[u8]>,
    ) -> Self {
        let mut err = Self::simple(Kind::InvalidResponse, provider, message);
        err.details_mut().raw_body = Some(raw_body_text(raw.as_ref()));
        err
    }

    /// A typed answer that does not match its schema after `attempts` answers; `raw` (the
    /// last answer) is kept in [`BlazenError::raw_body`]. Not retryable.
    pub(crate) fn structured_output(
        provider: &str,
        problems: Vec<blazen::ArgumentError>,
        raw: &str,
        attempts: u32,
        usage: Option<crate::types::TokenUsage>,
        cost: Option<f64>,
    ) -> Self {
        let message = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::simple(Kind::StructuredOutput, provider, message);
        let details = err.details_mut();
        details.raw_body = Some(raw_body_text(raw.as_bytes()));
        details.attempts = Some(attempts);
        if let Self::StructuredOutput {
            problems: p,
            usage: u,
            cost: c,
            ..
        } = &mut err
        {
            *p = problems;
            *u = usage;
            *c = cost;
        }
        err
    }

    /// A broken stream (cut, truncated, ended without a terminal event). Retryable: the same
    /// request may well succeed on a new connection (the retry middleware only retries a
    /// stream before its first chunk).
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::stream("my-llm", "stream ended without [DONE]");
    /// assert!(err.is_retryable());
    /// assert!(err.to_string().starts_with("stream error: stream ended"));
    /// ```
    pub fn stream(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::Stream, provider, message)
    }

    /// A compute job ran and failed. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::job_failed("my-gpu", "out of memory");
    /// assert!(err.to_string().starts_with("job failed: out of memory"));
    /// ```
    pub fn job_failed(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::JobFailed, provider, message)
    }

    /// A job or request was cancelled (`message` may be empty). Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// assert_eq!(BlazenError::cancelled("my-gpu", "").to_string(), "job cancelled [my-gpu]");
    /// ```
    pub fn cancelled(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::Cancelled, provider, message)
    }

    /// A quota, budget or credit balance is exhausted. Not retryable, even with a 429 status:
    /// waiting a few seconds does not refill a budget.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::quota_exceeded("my-llm", "monthly budget reached")
    ///     .with_status(429)
    ///     .with_code("budget_exhausted");
    /// assert!(!err.is_retryable());
    /// assert_eq!(err.code(), Some("budget_exhausted"));
    /// ```
    pub fn quota_exceeded(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::QuotaExceeded, provider, message)
    }

    /// Media input or output is malformed or of an unsupported format. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::invalid_media("bad base64 audio");
    /// assert_eq!(err.to_string(), "invalid media: bad base64 audio");
    /// ```
    pub fn invalid_media(message: impl Into<String>) -> Self {
        Self::simple(Kind::InvalidMedia, "", message)
    }

    /// A payload or media file of `size` bytes exceeds the limit `max`. Not retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::too_large(52_428_800, 10_485_760);
    /// assert_eq!(err.to_string(), "media too large: 52428800 bytes (max 10485760)");
    /// ```
    pub fn too_large(size: u64, max: u64) -> Self {
        Self::TooLarge {
            size: Some(size),
            max: Some(max),
            message: String::new(),
            details: Box::default(),
        }
    }

    /// The connection could not be made or broke before an answer. Retryable.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::connection("my-llm", "connection refused");
    /// assert!(err.is_retryable());
    /// assert!(err.to_string().starts_with("connection error: connection refused"));
    /// ```
    pub fn connection(provider: &str, message: impl Into<String>) -> Self {
        Self::simple(Kind::Connection, provider, message)
    }
    // ----- builder setters ---------------------------------------------------------------------

    /// Sets the request id if the error has none (the id of the response a stream error came
    /// in, when the error frame did not repeat it).
    pub(crate) fn or_request_id(mut self, request_id: Option<&str>) -> Self {
        if let Some(id) = request_id {
            let d = self.details_mut();
            if d.request_id.is_none() {
                d.request_id = non_empty(id.to_owned());
            }
        }
        self
    }

    /// Names the provider, when the error does not name one yet (an error built by a provider
    /// keeps its name; middleware can call this without overwriting it).
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::validation("bad").with_provider("a").with_provider("b");
    /// assert_eq!(err.provider(), Some("a"));
    /// ```
    #[must_use]
    pub fn with_provider(mut self, provider: &str) -> Self {
        let d = self.details_mut();
        if d.provider.is_none() && !provider.is_empty() {
            d.provider = Some(provider.to_owned());
        }
        self
    }

    /// Sets the HTTP status (`0` for a status-less condition). A 408, 429 or 5xx status also
    /// makes the error retryable, as [`BlazenError::is_retryable`] documents, unless it is a
    /// [`BlazenError::QuotaExceeded`]; the category is not changed (use
    /// [`BlazenError::from_http`] to classify a response). Call
    /// [`BlazenError::with_retryable`] afterwards to decide otherwise.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::provider_error("my-llm", "overloaded").with_status(529);
    /// assert_eq!(err.status(), Some(529));
    /// assert!(err.is_retryable());
    /// assert!(!BlazenError::quota_exceeded("p", "spent").with_status(429).is_retryable());
    /// ```
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        let quota = self.kind() == Kind::QuotaExceeded;
        let d = self.details_mut();
        d.status = Some(status);
        if !quota && status_is_retryable(status) {
            d.retryable = true;
        }
        self
    }

    /// Sets the machine-readable code (`"rate_limit_exceeded"`, `"429"`, …). It is recorded,
    /// not used to reclassify the error.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::rate_limit("my-llm", "slow down").with_code("rpm_exceeded");
    /// assert_eq!(err.code(), Some("rpm_exceeded"));
    /// assert!(err.to_string().ends_with("[my-llm, code rpm_exceeded]"));
    /// ```
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.details_mut().code = non_empty(code.into());
        self
    }

    /// Sets the provider's error type (`"invalid_request_error"`, `"overloaded_error"`, …).
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::validation("bad").with_error_type("invalid_request_error");
    /// assert_eq!(err.error_type(), Some("invalid_request_error"));
    /// ```
    #[must_use]
    pub fn with_error_type(mut self, error_type: impl Into<String>) -> Self {
        self.details_mut().error_type = non_empty(error_type.into());
        self
    }

    /// Sets the request parameter the error is about (OpenAI's `param`).
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::validation("too hot").with_param("temperature");
    /// assert_eq!(err.param(), Some("temperature"));
    /// ```
    #[must_use]
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.details_mut().param = non_empty(param.into());
        self
    }

    /// Sets the request id to quote to the provider's support.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::provider_error("my-llm", "boom").with_request_id("req_1");
    /// assert_eq!(err.request_id(), Some("req_1"));
    /// assert_eq!(err.to_string(), "my-llm error: boom [request id req_1]");
    /// ```
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.details_mut().request_id = non_empty(request_id.into());
        self
    }

    /// Sets how long the provider asked us to wait; the retry middleware honours it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::rate_limit("my-llm", "").with_retry_after(Duration::from_millis(250));
    /// assert_eq!(err.retry_after(), Some(Duration::from_millis(250)));
    /// ```
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.details_mut().retry_after = Some(delay);
        self
    }

    /// Keeps the body of the error response (or the error frame): lossy UTF-8, at most 64 KiB
    /// (cut on a character boundary), secret-looking patterns redacted.
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::provider_error("my-llm", "boom")
    ///     .with_raw_body("auth was Bearer abc.def and the body was huge");
    /// assert_eq!(err.raw_body(), Some("auth was Bearer [REDACTED] and the body was huge"));
    /// let big = BlazenError::provider_error("p", "x").with_raw_body(vec![b'a'; 100_000]);
    /// assert_eq!(big.raw_body().unwrap().len(), 64 * 1024);
    /// ```
    #[must_use]
    pub fn with_raw_body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.details_mut().raw_body = Some(raw_body_text(body.as_ref()));
        self
    }

    /// Says whether sending the same request again can help, overriding the category's
    /// default (as a server's `x-should-retry` header does).
    ///
    /// ```
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::provider_error("my-llm", "warming up").with_retryable(true);
    /// assert!(err.is_retryable());
    /// let err = BlazenError::rate_limit("my-llm", "daily cap").with_retryable(false);
    /// assert!(!err.is_retryable());
    /// ```
    #[must_use]
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.details_mut().retryable = retryable;
        self
    }

    /// Sets how long we waited, for a [`BlazenError::Timeout`] (other categories are returned
    /// unchanged).
    ///
    /// ```
    /// use std::time::Duration;
    /// use blazen_providers::BlazenError;
    ///
    /// let err = BlazenError::timeout(Duration::from_secs(1)).with_elapsed(Duration::from_millis(1500));
    /// assert_eq!(err.to_string(), "timed out after 1500ms");
    /// ```
    #[must_use]
    pub fn with_elapsed(mut self, waited: Duration) -> Self {
        if let Self::Timeout { elapsed, .. } = &mut self {
            *elapsed = Some(waited);
        }
        self
    }
}

/// A detail given to a setter: redacted and capped like a message; empty means none.
fn non_empty(s: String) -> Option<String> {
    let s = cap_message(&redact_patterns(&s));
    (!s.is_empty()).then_some(s)
}

// Crate-internal setters, for the HTTP layer, the middleware and the native providers.
impl BlazenError {
    /// Records how many attempts the retry middleware made (shown in `Display`).
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.details_mut().attempts = Some(attempts);
        self
    }

    /// The same error in another category, keeping its message and every detail (status,
    /// code, type, request id, retry delay, raw body). A category that can be transient (rate
    /// limit, timeout, provider, stream, connection) keeps the error's retryability; any other
    /// (quota exhaustion, a failed job, …) is not retryable.
    pub(crate) fn into_kind(self, kind: Kind) -> Self {
        if self.kind() == kind {
            return self;
        }
        let message = self.message().to_owned();
        let (mut details, elapsed, source) = match self {
            Self::Timeout {
                details,
                elapsed,
                source,
                ..
            } => (details, elapsed, source),
            Self::Connection {
                details, source, ..
            } => (details, None, source),
            Self::Auth { details, .. }
            | Self::RateLimit { details, .. }
            | Self::Provider { details, .. }
            | Self::Validation { details, .. }
            | Self::ContentPolicy { details, .. }
            | Self::Unsupported { details, .. }
            | Self::NoContent { details }
            | Self::ModelNotFound { details, .. }
            | Self::InvalidResponse { details, .. }
            | Self::StructuredOutput { details, .. }
            | Self::Stream { details, .. }
            | Self::JobFailed { details, .. }
            | Self::Cancelled { details, .. }
            | Self::QuotaExceeded { details, .. }
            | Self::InvalidMedia { details, .. }
            | Self::TooLarge { details, .. } => (details, None, None),
        };
        details.retryable = details.retryable
            && matches!(
                kind,
                Kind::RateLimit | Kind::Timeout | Kind::Provider | Kind::Stream | Kind::Connection
            );
        let message = if kind == Kind::NoContent {
            String::new()
        } else {
            message
        };
        match Self::build(kind, message, *details) {
            Self::Timeout {
                message, details, ..
            } => Self::Timeout {
                elapsed,
                message,
                details,
                source,
            },
            Self::Connection {
                message, details, ..
            } => Self::Connection {
                message,
                details,
                source,
            },
            other => other,
        }
    }
}
