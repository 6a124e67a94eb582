//! The error model shared by every provider.
//!
//! Every failure of a provider call is a [`BlazenError`]. Its variant is the *category* (what
//! went wrong, in the words of the seed API: authentication, rate limit, timeout, …); the
//! details a provider or gateway sent back are kept on every variant and read through
//! accessors: [`BlazenError::status`], [`BlazenError::code`], [`BlazenError::error_type`],
//! [`BlazenError::provider`], [`BlazenError::request_id`], [`BlazenError::retry_after`],
//! [`BlazenError::param`], [`BlazenError::raw_body`]. [`BlazenError::is_retryable`] says
//! whether sending the same request again can help.
//!
//! Error bodies are understood in every shape we meet: OpenAI
//! `{"error":{message,type,code,param}}` (code a string or a number), OpenRouter (numeric code,
//! `metadata.provider_name` / `metadata.raw`), new-api style gateways
//! (`channel:no_available_key`, type `new_api_error`), Anthropic
//! `{"type":"error","error":{type,message}}`, Gemini `{"error":{code,message,status,details}}`
//! with its `RetryInfo` delay, AWS (`__type`, `x-amzn-errortype`), FastAPI `{"detail":…}`, and
//! the plain-text, HTML and empty bodies that proxies send. Every machine code of the gateway
//! error pages the project follows has an entry in one table (category and retryability).
//!
//! A custom [`Provider`](crate::Provider) or [`EmbeddingProvider`](crate::EmbeddingProvider)
//! builds the same errors: one public constructor per category ([`BlazenError::auth`],
//! [`BlazenError::rate_limit`], [`BlazenError::timeout`], [`BlazenError::provider_error`], …),
//! builder setters for the details ([`BlazenError::with_status`],
//! [`BlazenError::with_retry_after`], [`BlazenError::with_raw_body`], …), and
//! [`BlazenError::from_http`] / [`BlazenError::from_stream_frame`], which classify a response or
//! a stream frame exactly as the built-in providers do.
//!
//! API keys never appear in an error: bodies and messages are scrubbed of `Bearer …`, `sk-…`,
//! `AIza…` and `key=…` patterns, and the HTTP layer scrubs the exact key it sent
//! (`redact_secret`). Keys are held in a [`SecretString`], whose `Debug` prints `[REDACTED]`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The result of every fallible call of this crate.
///
/// ```
/// fn check(temperature: f32) -> blazen_providers::error::Result<f32> {
///     Ok(temperature)
/// }
/// assert_eq!(check(0.5).unwrap(), 0.5);
/// ```
pub type Result<T, E = BlazenError> = std::result::Result<T, E>;

/// At most this many bytes of an error body are kept in [`BlazenError::raw_body`].
pub(crate) const RAW_BODY_LIMIT: usize = 64 * 1024;

/// Messages longer than this (in bytes) are cut, so that an HTML page does not fill a log line.
const MESSAGE_LIMIT: usize = 2 * 1024;

/// Longest retry delay we accept from a server; anything longer is treated as absent.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// What replaces a secret in messages and bodies.
const REDACTED: &str = "[REDACTED]";

/// What a provider or gateway told us about a failure, kept on every [`BlazenError`].
///
/// Read it through the accessors of [`BlazenError`]; it has no public fields so that it can grow.
#[derive(Debug, Clone, Default)]
pub struct ErrorDetails {
    provider: Option<String>,
    upstream_provider: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    error_type: Option<String>,
    param: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
    raw_body: Option<String>,
    retryable: bool,
    /// How many attempts the retry middleware made before giving up.
    attempts: Option<u32>,
}

impl ErrorDetails {
    fn with_provider(provider: &str) -> Self {
        Self {
            provider: (!provider.is_empty()).then(|| provider.to_owned()),
            ..Self::default()
        }
    }

    /// The bracketed context appended to `Display`: provider, status, code, request id.
    fn suffix(&self, with_provider: bool) -> String {
        let mut parts: Vec<String> = Vec::new();
        if with_provider {
            if let Some(p) = &self.provider {
                parts.push(p.clone());
            }
        }
        if let Some(s) = self.status {
            if s != 0 {
                parts.push(format!("HTTP {s}"));
            }
        }
        if let Some(c) = &self.code {
            parts.push(format!("code {c}"));
        } else if let Some(t) = &self.error_type {
            parts.push(format!("type {t}"));
        }
        if let Some(u) = &self.upstream_provider {
            parts.push(format!("upstream {u}"));
        }
        if let Some(r) = &self.request_id {
            parts.push(format!("request id {r}"));
        }
        if let Some(n) = self.attempts {
            parts.push(format!("after {n} attempts"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" [{}]", parts.join(", "))
        }
    }
}

/// Every error of a provider call, by category.
///
/// The `Display` text starts with the category's prefix (`"authentication failed: …"`,
/// `"rate limited: retry after 1000ms"`, `"timed out after 30000ms"`, `"openai error: …"`, …)
/// and ends with the context a provider gave (`[HTTP 429, code rate_limit_exceeded, request id
/// req_1]`).
///
/// ```
/// use blazen_providers::BlazenError;
///
/// fn describe(err: &BlazenError) -> String {
///     match err {
///         BlazenError::RateLimit { .. } => format!("slow down ({:?})", err.retry_after()),
///         BlazenError::Auth { .. } => "check the API key".to_owned(),
///         other if other.is_retryable() => "try again".to_owned(),
///         other => format!("give up: {other}"),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BlazenError {
    /// The credentials were missing, wrong, expired or lack a permission (HTTP 401/403; a 403
    /// that refuses the content itself is a [`BlazenError::ContentPolicy`]).
    #[error("authentication failed: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    Auth {
        /// What the provider said.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// Too many requests; retry after [`BlazenError::retry_after`] when given.
    #[error("rate limited: {}{}", rate_limit_text(details.retry_after, message), details.suffix(true))]
    #[non_exhaustive]
    RateLimit {
        /// What the provider said.
        message: String,
        /// Provider, status, code, request id, retry delay, raw body.
        details: Box<ErrorDetails>,
    },
    /// The request or an upstream exceeded its deadline.
    #[error("{}{}", timeout_text(*elapsed, message), details.suffix(true))]
    #[non_exhaustive]
    Timeout {
        /// How long we waited, when known.
        elapsed: Option<Duration>,
        /// What happened.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
        /// The transport error behind it, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The provider failed in a way no other category describes (typically 5xx).
    #[error("{} error: {message}{}", details.provider.as_deref().unwrap_or("provider"), details.suffix(false))]
    #[non_exhaustive]
    Provider {
        /// What the provider said.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// The request itself is invalid (bad parameter, context window exceeded, …).
    #[error("invalid input: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    Validation {
        /// What is wrong.
        message: String,
        /// Provider, status, code, param, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// A content filter or moderation refused the input or the output: a content-filter code,
    /// or a 400/403 whose body says the content was flagged, filtered or blocked (OpenRouter's
    /// moderation `metadata.reasons` and `flagged_input` are kept in the message).
    #[error("content policy violation: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    ContentPolicy {
        /// What the provider said.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// The model or provider does not support what was asked (streaming, tools, vision, …).
    #[error("unsupported: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    Unsupported {
        /// What is not supported.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// The model answered without any content.
    #[error("model returned no content{}", details.suffix(true))]
    #[non_exhaustive]
    NoContent {
        /// Provider, request id.
        details: Box<ErrorDetails>,
    },
    /// The model id is unknown to the provider, or the endpoint serving it does not exist:
    /// every HTTP 404 without a more specific code (seeds: "Unknown endpoint or model id"), so
    /// OpenRouter's "No endpoints found for …" and a wrong base URL land here too, and
    /// [`CompletionModel::with_fallback`](crate::CompletionModel::with_fallback) tries the
    /// next model.
    #[error("model not found: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    ModelNotFound {
        /// The model id, or what the provider said about it.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// The provider answered something we could not understand.
    #[error("invalid response: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    InvalidResponse {
        /// What was wrong with it.
        message: String,
        /// Provider, status, the raw body.
        details: Box<ErrorDetails>,
    },
    /// A stream broke: it was cut, truncated, or carried an error frame of its own kind.
    #[error("stream error: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    Stream {
        /// What happened.
        message: String,
        /// Provider, code, request id, raw frame.
        details: Box<ErrorDetails>,
    },
    /// A compute job ran and failed.
    #[error("job failed: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    JobFailed {
        /// Why it failed.
        message: String,
        /// Provider, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// A job or request was cancelled.
    #[error("job cancelled{}{}", cancelled_text(message), details.suffix(true))]
    #[non_exhaustive]
    Cancelled {
        /// Why, when known (may be empty).
        message: String,
        /// Provider, request id.
        details: Box<ErrorDetails>,
    },
    /// A quota, budget or credit balance is exhausted; waiting a few seconds will not help.
    #[error("quota exceeded: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    QuotaExceeded {
        /// What the provider said.
        message: String,
        /// Provider, status, code, request id, raw body.
        details: Box<ErrorDetails>,
    },
    /// Media input or output is malformed or of an unsupported format.
    #[error("invalid media: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    InvalidMedia {
        /// What is wrong with it.
        message: String,
        /// Provider, status, code, raw body.
        details: Box<ErrorDetails>,
    },
    /// A payload or media file is larger than allowed.
    #[error("media too large: {}{}", too_large_text(*size, *max, message), details.suffix(true))]
    #[non_exhaustive]
    TooLarge {
        /// Its size in bytes, when known.
        size: Option<u64>,
        /// The limit in bytes, when known.
        max: Option<u64>,
        /// What the provider said.
        message: String,
        /// Provider, status, code, raw body.
        details: Box<ErrorDetails>,
    },
    /// The connection could not be made or broke before an answer (DNS, refused, reset, TLS).
    #[error("connection error: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    Connection {
        /// What happened.
        message: String,
        /// Provider.
        details: Box<ErrorDetails>,
        /// The transport error behind it, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

fn rate_limit_text(retry_after: Option<Duration>, message: &str) -> String {
    match (retry_after, message.is_empty()) {
        (Some(d), true) => format!("retry after {}ms", d.as_millis()),
        (Some(d), false) => format!("retry after {}ms: {message}", d.as_millis()),
        (None, _) => message.to_owned(),
    }
}

fn timeout_text(elapsed: Option<Duration>, message: &str) -> String {
    match (elapsed, message.is_empty()) {
        (Some(d), true) => format!("timed out after {}ms", d.as_millis()),
        (Some(d), false) => format!("timed out after {}ms: {message}", d.as_millis()),
        (None, _) => format!("timed out: {message}"),
    }
}

fn cancelled_text(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn too_large_text(size: Option<u64>, max: Option<u64>, message: &str) -> String {
    match (size, max) {
        (Some(s), Some(m)) => format!("{s} bytes (max {m})"),
        (Some(s), None) => format!("{s} bytes: {message}"),
        _ => message.to_owned(),
    }
}

/// The category of an error, without its data. Used by the classification table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Auth,
    RateLimit,
    Timeout,
    Provider,
    Validation,
    ContentPolicy,
    Unsupported,
    NoContent,
    ModelNotFound,
    InvalidResponse,
    Stream,
    JobFailed,
    Cancelled,
    QuotaExceeded,
    InvalidMedia,
    TooLarge,
    Connection,
}

impl Kind {
    /// Whether an error of this kind is worth retrying when nothing more specific is known.
    fn default_retryable(self) -> bool {
        matches!(
            self,
            Kind::RateLimit | Kind::Timeout | Kind::Stream | Kind::Connection
        )
    }
}

impl BlazenError {
    /// Builds an error of `kind` from a message and details (retryability already set).
    fn build(kind: Kind, message: String, details: ErrorDetails) -> Self {
        let details = Box::new(details);
        match kind {
            Kind::Auth => Self::Auth { message, details },
            Kind::RateLimit => Self::RateLimit { message, details },
            Kind::Timeout => Self::Timeout {
                elapsed: None,
                message,
                details,
                source: None,
            },
            Kind::Provider => Self::Provider { message, details },
            Kind::Validation => Self::Validation { message, details },
            Kind::ContentPolicy => Self::ContentPolicy { message, details },
            Kind::Unsupported => Self::Unsupported { message, details },
            Kind::NoContent => Self::NoContent { details },
            Kind::ModelNotFound => Self::ModelNotFound { message, details },
            Kind::InvalidResponse => Self::InvalidResponse { message, details },
            Kind::Stream => Self::Stream { message, details },
            Kind::JobFailed => Self::JobFailed { message, details },
            Kind::Cancelled => Self::Cancelled { message, details },
            Kind::QuotaExceeded => Self::QuotaExceeded { message, details },
            Kind::InvalidMedia => Self::InvalidMedia { message, details },
            Kind::TooLarge => Self::TooLarge {
                size: None,
                max: None,
                message,
                details,
            },
            Kind::Connection => Self::Connection {
                message,
                details,
                source: None,
            },
        }
    }

    /// Builds an error of `kind` for `provider` with the kind's default retryability.
    fn simple(kind: Kind, provider: &str, message: impl Into<String>) -> Self {
        let mut details = ErrorDetails::with_provider(provider);
        details.retryable = kind.default_retryable();
        Self::build(
            kind,
            cap_message(&redact_patterns(&message.into())),
            details,
        )
    }

    /// The category of this error.
    #[allow(dead_code)] // Read by tests and by the fallback middleware.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Auth { .. } => Kind::Auth,
            Self::RateLimit { .. } => Kind::RateLimit,
            Self::Timeout { .. } => Kind::Timeout,
            Self::Provider { .. } => Kind::Provider,
            Self::Validation { .. } => Kind::Validation,
            Self::ContentPolicy { .. } => Kind::ContentPolicy,
            Self::Unsupported { .. } => Kind::Unsupported,
            Self::NoContent { .. } => Kind::NoContent,
            Self::ModelNotFound { .. } => Kind::ModelNotFound,
            Self::InvalidResponse { .. } => Kind::InvalidResponse,
            Self::Stream { .. } => Kind::Stream,
            Self::JobFailed { .. } => Kind::JobFailed,
            Self::Cancelled { .. } => Kind::Cancelled,
            Self::QuotaExceeded { .. } => Kind::QuotaExceeded,
            Self::InvalidMedia { .. } => Kind::InvalidMedia,
            Self::TooLarge { .. } => Kind::TooLarge,
            Self::Connection { .. } => Kind::Connection,
        }
    }

    fn details(&self) -> &ErrorDetails {
        match self {
            Self::Auth { details, .. }
            | Self::RateLimit { details, .. }
            | Self::Timeout { details, .. }
            | Self::Provider { details, .. }
            | Self::Validation { details, .. }
            | Self::ContentPolicy { details, .. }
            | Self::Unsupported { details, .. }
            | Self::NoContent { details }
            | Self::ModelNotFound { details, .. }
            | Self::InvalidResponse { details, .. }
            | Self::Stream { details, .. }
            | Self::JobFailed { details, .. }
            | Self::Cancelled { details, .. }
            | Self::QuotaExceeded { details, .. }
            | Self::InvalidMedia { details, .. }
            | Self::TooLarge { details, .. }
            | Self::Connection { details, .. } => details,
        }
    }

    fn details_mut(&mut self) -> &mut ErrorDetails {
        match self {
            Self::Auth { details, .. }
            | Self::RateLimit { details, .. }
            | Self::Timeout { details, .. }
            | Self::Provider { details, .. }
            | Self::Validation { details, .. }
            | Self::ContentPolicy { details, .. }
            | Self::Unsupported { details, .. }
            | Self::NoContent { details }
            | Self::ModelNotFound { details, .. }
            | Self::InvalidResponse { details, .. }
            | Self::Stream { details, .. }
            | Self::JobFailed { details, .. }
            | Self::Cancelled { details, .. }
            | Self::QuotaExceeded { details, .. }
            | Self::InvalidMedia { details, .. }
            | Self::TooLarge { details, .. }
            | Self::Connection { details, .. } => details,
        }
    }

    fn message_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::NoContent { .. } => None,
            Self::Auth { message, .. }
            | Self::RateLimit { message, .. }
            | Self::Timeout { message, .. }
            | Self::Provider { message, .. }
            | Self::Validation { message, .. }
            | Self::ContentPolicy { message, .. }
            | Self::Unsupported { message, .. }
            | Self::ModelNotFound { message, .. }
            | Self::InvalidResponse { message, .. }
            | Self::Stream { message, .. }
            | Self::JobFailed { message, .. }
            | Self::Cancelled { message, .. }
            | Self::QuotaExceeded { message, .. }
            | Self::InvalidMedia { message, .. }
            | Self::TooLarge { message, .. }
            | Self::Connection { message, .. } => Some(message),
        }
    }

    // ----- accessors -------------------------------------------------------------------------

    /// The message of the provider (or ours), without the category prefix.
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{}", err.message()); }
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Self::NoContent { .. } => "model returned no content",
            Self::Auth { message, .. }
            | Self::RateLimit { message, .. }
            | Self::Timeout { message, .. }
            | Self::Provider { message, .. }
            | Self::Validation { message, .. }
            | Self::ContentPolicy { message, .. }
            | Self::Unsupported { message, .. }
            | Self::ModelNotFound { message, .. }
            | Self::InvalidResponse { message, .. }
            | Self::Stream { message, .. }
            | Self::JobFailed { message, .. }
            | Self::Cancelled { message, .. }
            | Self::QuotaExceeded { message, .. }
            | Self::InvalidMedia { message, .. }
            | Self::TooLarge { message, .. }
            | Self::Connection { message, .. } => message,
        }
    }

    /// The HTTP status of the failed response (`Some(0)` when a gateway reports a status-less
    /// condition such as `client_disconnected`), `None` when no response was received.
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { if err.status() == Some(429) { println!("busy"); } }
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.details().status
    }

    /// The machine-readable code (`"rate_limit_exceeded"`, `"channel:no_available_key"`, or a
    /// numeric code as text such as `"429"`).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.code()); }
    /// ```
    pub fn code(&self) -> Option<&str> {
        self.details().code.as_deref()
    }

    /// The error type of the provider (`"invalid_request_error"`, `"overloaded_error"`, Gemini's
    /// `"RESOURCE_EXHAUSTED"`, AWS's `"ThrottlingException"`, …).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.error_type()); }
    /// ```
    pub fn error_type(&self) -> Option<&str> {
        self.details().error_type.as_deref()
    }

    /// The provider that reported the error (`"openai"`, `"anthropic"`, …).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.provider()); }
    /// ```
    pub fn provider(&self) -> Option<&str> {
        self.details().provider.as_deref()
    }

    /// The upstream provider a gateway reported (OpenRouter's `metadata.provider_name`).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.upstream_provider()); }
    /// ```
    pub fn upstream_provider(&self) -> Option<&str> {
        self.details().upstream_provider.as_deref()
    }

    /// The request id to quote to the provider's support (`x-request-id`, `request-id`,
    /// `x-amzn-requestid`, `cf-ray`, … or the body's `request_id`).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.request_id()); }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.details().request_id.as_deref()
    }

    /// How long the provider asked us to wait: `retry-after-ms`, `Retry-After` (seconds or an
    /// HTTP date) or a delay in the body (Gemini `RetryInfo.retryDelay`).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.retry_after()); }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.details().retry_after
    }

    /// The request parameter the error is about (OpenAI's `param`).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.param()); }
    /// ```
    pub fn param(&self) -> Option<&str> {
        self.details().param.as_deref()
    }

    /// How many attempts were made when the retry middleware gave up (`None` when the call was
    /// not retried by [`CompletionModel::with_retry`](crate::CompletionModel::with_retry)).
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.attempts()); }
    /// ```
    pub fn attempts(&self) -> Option<u32> {
        self.details().attempts
    }

    /// The body of the error response (or the error frame of a stream), at most 64 KiB, with
    /// secrets redacted.
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { println!("{:?}", err.raw_body()); }
    /// ```
    pub fn raw_body(&self) -> Option<&str> {
        self.details().raw_body.as_deref()
    }

    /// Whether sending the same request again can help.
    ///
    /// Yes for HTTP 408, 429 and 5xx, connection errors and timeouts; no for quota, budget and
    /// credit exhaustion (even when sent as 429) and other 4xx. A server's `x-should-retry`
    /// header overrides all of this.
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) { if err.is_retryable() { println!("again"); } }
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.details().retryable
    }
}

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
        if !quota && (status == 408 || status == 429 || (500..=599).contains(&status)) {
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

// Crate-internal constructors, for the HTTP layer, the middleware and the native providers.
impl BlazenError {
    /// [`BlazenError::from_http`], under the name the provider modules use.
    pub(crate) fn from_response(
        provider: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        Self::from_http(provider, status, headers, body)
    }

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
                    Some(s) if s != 0 => s == 408 || s == 429 || (500..=599).contains(&s),
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
            Some(s) => s == 408 || s == 429 || (500..=599).contains(&s),
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

    /// Scrubs one known secret (the API key that was sent) from the message and raw body.
    pub(crate) fn redact_secret(mut self, secret: &SecretString) -> Self {
        let key = secret.expose_secret();
        if let Some(m) = self.message_mut() {
            if let Cow::Owned(r) = redact_known(m, key) {
                *m = r;
            }
        }
        let d = self.details_mut();
        if let Some(body) = &mut d.raw_body {
            if let Cow::Owned(r) = redact_known(body, key) {
                *body = r;
            }
        }
        self
    }
}

// ----- classification table ------------------------------------------------------------------

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

/// Whether `status` alone names a category more specific than "invalid request" (401, 402,
/// 403, 404, 408, 413, 429, 5xx).
fn status_is_specific(status: Option<u16>) -> bool {
    matches!(status, Some(401..=404 | 408 | 413 | 429 | 500..=599))
}

/// The category of an error known only by its status (and message, for a few hints).
fn kind_from_status(status: Option<u16>, message: Option<&str>) -> Kind {
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

// ----- envelope parsing ----------------------------------------------------------------------

/// What an error body says, whatever its shape.
#[derive(Debug, Default)]
struct Envelope {
    message: Option<String>,
    code: Option<String>,
    numeric_code: Option<i64>,
    error_type: Option<String>,
    param: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    upstream_provider: Option<String>,
    /// The body carries moderation metadata (OpenRouter `metadata.reasons` / `flagged_input`).
    moderation: bool,
}

impl Envelope {
    /// A numeric code that is an HTTP status (OpenRouter, Gemini in streams).
    fn numeric_status(&self) -> Option<u16> {
        self.numeric_code
            .filter(|c| (100..=599).contains(c))
            .and_then(|c| u16::try_from(c).ok())
    }
}

/// Parses an error body of any shape. Never fails: unknown shapes give a readable message.
fn parse_body(body: &[u8], status: u16) -> Envelope {
    let mut env = Envelope::default();
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        env.message = Some(format!("empty response body (HTTP {status})"));
        return env;
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        read_json_body(&value, &mut env);
        if env.message.is_none() {
            env.message = Some(trimmed.to_owned());
        }
        return env;
    }
    let lower_head: String = trimmed
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower_head.starts_with('<') || lower_head.contains("<html") {
        let title = html_title(trimmed);
        env.message = Some(match title {
            Some(t) => format!("HTTP {status} with an HTML page (likely from a proxy): {t}"),
            None => format!("HTTP {status} with an HTML page (likely from a proxy)"),
        });
        return env;
    }
    let first_line = trimmed.lines().next().unwrap_or(trimmed).trim();
    env.message = Some(format!("HTTP {status}: {first_line}"));
    env
}

/// The text of the first `<title>` (or `<h1>`) of an HTML page.
fn html_title(html: &str) -> Option<String> {
    for tag in ["title", "h1"] {
        let lower = html.to_ascii_lowercase();
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        if let Some(start) = lower.find(&open) {
            let after = start + lower[start..].find('>')? + 1;
            let end = after + lower[after..].find(&close)?;
            // `lower` has the same byte offsets as `html` (ASCII lowercasing keeps lengths).
            let t = html.get(after..end)?.split_whitespace().collect::<Vec<_>>();
            if !t.is_empty() {
                return Some(t.join(" "));
            }
        }
    }
    None
}

/// Reads a JSON error body (any provider's envelope) into `env`.
fn read_json_body(value: &Value, env: &mut Envelope) {
    let Some(obj) = value.as_object() else {
        if let Some(arr) = value.as_array() {
            // Gemini sometimes answers a stream request with `[{"error": …}]`.
            if let Some(first) = arr.first() {
                read_json_body(first, env);
            }
        } else if let Some(s) = value.as_str() {
            env.message = Some(s.to_owned());
        }
        return;
    };
    if let Some(rid) = obj.get("request_id").and_then(Value::as_str) {
        env.request_id = Some(rid.to_owned());
    }
    match obj.get("error") {
        Some(Value::String(s)) => {
            // `{"error": "Unauthorized", "message": …}` (some proxies) or `{"error": "…"}`.
            env.message = Some(s.clone());
            read_error_object(value, env);
            if let Some(m) = obj.get("message").and_then(Value::as_str) {
                env.message = Some(m.to_owned());
            } else if let Some(m) = obj.get("error_description").and_then(Value::as_str) {
                env.message = Some(format!("{s}: {m}"));
            }
            if env.code.is_none() && env.error_type.is_none() && is_identifier(s) {
                // `{"error": "invalid_api_key"}`: a machine code, not a sentence.
                env.code = Some(s.clone());
            }
        }
        Some(err @ Value::Object(_)) => read_error_object(err, env),
        _ => {
            // Top-level shapes: Cohere/Bedrock `{"message": …}`, AWS `__type`, FastAPI
            // `{"detail": …}`.
            read_error_object(value, env);
            if env.message.is_none() {
                env.message = detail_text(obj.get("detail"));
            }
        }
    }
}

/// Reads one error object (`{message, type, code, param, status, details, metadata}`).
fn read_error_object(err: &Value, env: &mut Envelope) {
    let Some(obj) = err.as_object() else { return };
    if let Some(m) = obj.get("message").or_else(|| obj.get("msg")) {
        env.message = match m {
            Value::String(s) => Some(s.clone()),
            Value::Null => env.message.take(),
            other => Some(other.to_string()),
        };
    }
    match obj.get("code") {
        Some(Value::String(s)) if !s.is_empty() => env.code = Some(s.clone()),
        Some(Value::Number(n)) => {
            env.code = Some(n.to_string());
            env.numeric_code = n.as_i64();
        }
        _ => {}
    }
    let ty = obj
        .get("type")
        .or_else(|| obj.get("__type"))
        .or_else(|| obj.get("status"));
    if let Some(Value::String(t)) = ty {
        if !t.is_empty() && t != "error" {
            // AWS `__type` may be "com.amazon.coral.service#ValidationException".
            let t = t.rsplit('#').next().unwrap_or(t);
            env.error_type = Some(t.to_owned());
        }
    }
    if let Some(p) = obj.get("param") {
        env.param = match p {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
    }
    if let Some(meta) = obj.get("metadata").and_then(Value::as_object) {
        if let Some(name) = meta.get("provider_name").and_then(Value::as_str) {
            env.upstream_provider = Some(name.to_owned());
        }
        read_moderation(meta, env);
        if let Some(raw) = meta.get("raw") {
            let raw = match raw {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let base = env.message.take().unwrap_or_default();
            env.message = Some(if base.is_empty() {
                raw
            } else {
                format!("{base} (upstream: {raw})")
            });
        }
    }
    if let Some(details) = obj.get("details").and_then(Value::as_array) {
        for d in details {
            let kind = d.get("@type").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("RetryInfo") {
                if let Some(delay) = d.get("retryDelay").and_then(Value::as_str) {
                    env.retry_after = parse_proto_duration(delay);
                }
            } else if kind.ends_with("ErrorInfo") && env.numeric_code.is_some() {
                // Gemini: the numeric code repeats the status; the reason (API_KEY_INVALID, …)
                // is the machine code worth keeping.
                if let Some(reason) = d.get("reason").and_then(Value::as_str) {
                    env.code = Some(reason.to_owned());
                }
            }
        }
    }
}

/// OpenRouter's moderation metadata (`{"reasons": [...], "flagged_input": "..."}`): marks the
/// envelope as a moderation refusal and keeps the reasons and the flagged input in the message.
fn read_moderation(meta: &serde_json::Map<String, Value>, env: &mut Envelope) {
    let reasons: Vec<String> = match meta.get("reasons") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| match r {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|r| !r.is_empty())
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let flagged = match meta.get("flagged_input") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Null | Value::String(_)) | None => None,
        Some(other) => Some(other.to_string()),
    };
    if reasons.is_empty() && flagged.is_none() {
        return;
    }
    env.moderation = true;
    let mut extra = Vec::new();
    if !reasons.is_empty() {
        extra.push(format!("reasons: {}", reasons.join(", ")));
    }
    if let Some(f) = flagged {
        extra.push(format!("flagged input: {f:?}"));
    }
    let base = env.message.take().unwrap_or_default();
    let extra = extra.join("; ");
    env.message = Some(if base.is_empty() {
        extra
    } else {
        format!("{base} ({extra})")
    });
}

/// Whether a message says a content filter or moderation refused the request (as opposed to a
/// key or permission problem, which shares the statuses 400 and 403).
fn says_moderation(message: &str) -> bool {
    const DIRECT: [&str; 6] = [
        "moderation",
        "content filter",
        "content_filter",
        "content policy",
        "content management policy",
        "safety system",
    ];
    // These verbs also name accounts, IPs and regions ("your IP is blocked", "account
    // flagged"); they count only when they are about content.
    const VERBS: [&str; 3] = ["flagged", "filtered", "blocked"];
    const CONTENT: [&str; 5] = ["prompt", "content", "input", "output", "response"];
    let lower = message.to_ascii_lowercase();
    DIRECT.iter().any(|w| lower.contains(w))
        || (VERBS.iter().any(|w| lower.contains(w)) && CONTENT.iter().any(|w| lower.contains(w)))
}

/// Whether an `error` member carries an error: not `null`, `false`, `""` or `{}` (which some
/// proxies put in every normal chunk).
pub(crate) fn is_error_value(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// FastAPI-style `detail`: a string or a list of `{loc, msg}`.
fn detail_text(detail: Option<&Value>) -> Option<String> {
    match detail? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let msgs: Vec<String> = items
                .iter()
                .map(|i| match i.get("msg").and_then(Value::as_str) {
                    Some(m) => m.to_owned(),
                    None => i.to_string(),
                })
                .collect();
            (!msgs.is_empty()).then(|| msgs.join("; "))
        }
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether `s` looks like a machine code (`invalid_api_key`, `channel:no_available_key`).
fn is_identifier(s: &str) -> bool {
    s.len() <= 64
        && s.contains(['_', ':'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':' || b == b'.')
}

// ----- headers -------------------------------------------------------------------------------

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The request id, from the first header that carries one (the one list of request-id headers;
/// the HTTP layer can share it for successful responses and streams).
pub(crate) fn request_id_from(headers: &HeaderMap) -> Option<String> {
    const NAMES: [&str; 10] = [
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "x-amz-request-id",
        "x-goog-request-id",
        "x-fal-request-id",
        "openrouter-request-id",
        "mistral-correlation-id",
        "x-trace-id",
        "cf-ray",
    ];
    // One pass over the (few) headers of the response, comparing names, instead of ten
    // lookups that each parse a header name: this runs on every successful answer.
    let mut best: Option<(usize, &str)> = None;
    for (name, value) in headers {
        let Some(rank) = NAMES.iter().position(|n| *n == name.as_str()) else {
            continue;
        };
        if best.is_some_and(|(r, _)| r <= rank) {
            continue;
        }
        if let Some(v) = value.to_str().ok().map(str::trim).filter(|v| !v.is_empty()) {
            best = Some((rank, v));
        }
    }
    best.map(|(_, v)| v.to_owned())
}

/// The retry delay of `retry-after-ms` or `Retry-After` (delta-seconds or an HTTP date).
fn retry_after_from(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if let Some(d) = secs_to_duration(ms / 1000.0) {
            return Some(d);
        }
    }
    let v = header_str(headers, "retry-after")?;
    parse_retry_after(v, SystemTime::now())
}

/// Parses a `Retry-After` value against `now`: seconds (integer or decimal) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return secs_to_duration(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let d = at.duration_since(now).unwrap_or(Duration::ZERO);
    (d <= MAX_RETRY_AFTER).then_some(d)
}

/// A protobuf JSON duration (`"1.5s"`, `"30s"`, `"0.250s"`).
fn parse_proto_duration(value: &str) -> Option<Duration> {
    let v = value.trim();
    let secs = v.strip_suffix('s').unwrap_or(v).parse::<f64>().ok()?;
    secs_to_duration(secs)
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 || secs > MAX_RETRY_AFTER.as_secs_f64() {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") || v == "1" {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") || v == "0" {
        Some(false)
    } else {
        None
    }
}

// ----- size caps -----------------------------------------------------------------------------

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn floor_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cap_message(s: &str) -> String {
    let s = s.trim();
    if s.len() <= MESSAGE_LIMIT {
        s.to_owned()
    } else {
        format!("{}…", floor_char(s, MESSAGE_LIMIT))
    }
}

fn cap_raw(s: &str) -> String {
    floor_char(s, RAW_BODY_LIMIT).to_owned()
}

/// A body as kept in an error: lossy UTF-8, at most [`RAW_BODY_LIMIT`] bytes, redacted.
fn raw_body_text(body: &[u8]) -> String {
    let head = &body[..body.len().min(RAW_BODY_LIMIT)];
    cap_raw(&redact_patterns(&String::from_utf8_lossy(head)))
}

// ----- secrets -------------------------------------------------------------------------------

/// An API key or other secret. `Debug` prints `[REDACTED]`; there is no `Display`, so it cannot
/// end up in a format string by accident. Read it with [`SecretString::expose_secret`].
///
/// ```
/// use blazen_providers::error::SecretString;
///
/// let key = SecretString::from("sk-live-1234567890abcdef");
/// assert_eq!(format!("{key:?}"), "[REDACTED]");
/// assert_eq!(key.expose_secret(), "sk-live-1234567890abcdef");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    ///
    /// ```
    /// # use blazen_providers::error::SecretString;
    /// let key = SecretString::new(String::from("k"));
    /// # let _ = key;
    /// ```
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the one place that must send it (an HTTP header).
    ///
    /// ```
    /// # use blazen_providers::error::SecretString;
    /// assert_eq!(SecretString::from("k").expose_secret(), "k");
    /// ```
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (no key configured).
    ///
    /// ```
    /// # use blazen_providers::error::SecretString;
    /// assert!(SecretString::from("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Replaces every occurrence of the known `secret` (if at least 4 bytes long) and every
/// secret-looking pattern with `[REDACTED]`.
///
/// ```
/// use blazen_providers::error::redact;
///
/// let text = "bad key sk-abcdefghijklmnop, header Bearer xyz.123, my-own-secret";
/// let clean = redact(text, Some("my-own-secret"));
/// assert!(!clean.contains("abcdefghijklmnop"));
/// assert!(!clean.contains("xyz.123"));
/// assert!(!clean.contains("my-own-secret"));
/// ```
pub fn redact(text: &str, secret: Option<&str>) -> String {
    let known = match secret {
        Some(s) => redact_known(text, s),
        None => Cow::Borrowed(text),
    };
    redact_patterns(&known)
}

fn redact_known<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    if secret.len() >= 4 && text.contains(secret) {
        Cow::Owned(text.replace(secret, REDACTED))
    } else {
        Cow::Borrowed(text)
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// Scrubs secret-looking patterns: `Bearer <token>`, `Key <id>:<secret>` (fal's scheme),
/// `sk-…` / `sk_…` keys, Google `AIza…` keys and `key=…` / `api_key=…` query parameters.
/// Linear in the input.
fn redact_patterns(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already handled
    let mut i = 0;
    while i < bytes.len() {
        let prev_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        // (token start, whether the token may hold a `:`)
        let hit: Option<(usize, bool)> = if prev_ok && starts_with_ci(&bytes[i..], b"bearer ") {
            Some((i + 7, false))
        } else if prev_ok
            && (((bytes[i..].starts_with(b"sk-") || bytes[i..].starts_with(b"sk_"))
                && token_len(bytes, i + 3) >= 8)
                || (bytes[i..].starts_with(b"AIza") && token_len(bytes, i + 4) >= 20))
        {
            Some((i, false))
        } else if prev_ok && bytes[i..].starts_with(b"Key ") && is_id_secret(bytes, i + 4) {
            Some((i + 4, true))
        } else if (i > 0 && matches!(bytes[i - 1], b'?' | b'&'))
            && (bytes[i..].starts_with(b"key=") || bytes[i..].starts_with(b"api_key="))
        {
            Some((i + if bytes[i] == b'k' { 4 } else { 8 }, false))
        } else {
            None
        };
        if let Some((token_start, colon)) = hit {
            let len = if colon {
                id_secret_len(bytes, token_start)
            } else {
                token_len(bytes, token_start)
            };
            if len > 0 {
                // All boundaries here are ASCII bytes, hence char boundaries.
                out.push_str(&text[copied..token_start]);
                out.push_str(REDACTED);
                i = token_start + len;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether a token of the `<id>:<secret>` shape of fal keys starts at `start`: at least 16
/// bytes with a `:` inside (a word after "Key " in prose is not one).
fn is_id_secret(bytes: &[u8], start: usize) -> bool {
    let len = id_secret_len(bytes, start);
    len >= 16 && bytes[start..start + len].contains(&b':')
}

fn id_secret_len(bytes: &[u8], start: usize) -> usize {
    bytes.get(start..).map_or(0, |rest| {
        rest.iter()
            .take_while(|&&b| is_token_byte(b) || b == b':')
            .count()
    })
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn token_len(bytes: &[u8], start: usize) -> usize {
    bytes.get(start..).map_or(0, |rest| {
        rest.iter().take_while(|&&b| is_token_byte(b)).count()
    })
}

#[cfg(test)]
#[path = "error/tests.rs"]
mod tests;
