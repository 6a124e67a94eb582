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

// Where things live: the taxonomy, its details and accessors here; the public constructors and
// setters in `constructors.rs`; the code table and the classifying constructors (`from_http`,
// `from_stream_frame`, transport and AWS errors) in `classify.rs`; error-body parsing in
// `envelope.rs`; request id and retry delay headers in `headers.rs`; secrets in `redact.rs`.
mod classify;
mod constructors;
mod envelope;
mod headers;
mod redact;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use envelope::is_error_value;
pub(crate) use headers::{cost_from, request_id_from};
use redact::redact_patterns;
pub use redact::{redact, SecretString};

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
    /// A typed answer ([`CompletionModel::extract`](crate::CompletionModel::extract)) did not
    /// match its schema, even after the allowed repairs. `message` and `problems` name each
    /// field that is missing, unknown or of the wrong type; [`BlazenError::raw_body`] keeps the
    /// model's last answer and [`BlazenError::attempts`] the number of answers asked for.
    ///
    /// ```
    /// # use blazen_providers::BlazenError;
    /// # fn show(err: &BlazenError) {
    /// if let BlazenError::StructuredOutput { problems, usage, .. } = err {
    ///     for p in problems { println!("field `{}`: {p}", p.argument); }
    ///     println!("answer: {:?}, tokens over all attempts: {usage:?}", err.raw_body());
    /// }
    /// # }
    /// ```
    #[error("structured output does not match the schema: {message}{}", details.suffix(true))]
    #[non_exhaustive]
    StructuredOutput {
        /// Every problem, one sentence each (the text sent to the model for a repair).
        message: String,
        /// The problems, each naming its field (`total`, `lines.0.price`; empty for the
        /// answer as a whole, e.g. when it is not JSON).
        problems: Vec<blazen::ArgumentError>,
        /// Token usage summed over every attempt.
        usage: Option<crate::types::TokenUsage>,
        /// Cost summed over every attempt, when known.
        cost: Option<f64>,
        /// Provider, attempts, the raw answer.
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
    StructuredOutput,
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
            Kind::StructuredOutput => Self::StructuredOutput {
                message,
                problems: Vec::new(),
                usage: None,
                cost: None,
                details,
            },
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
            Self::StructuredOutput { .. } => Kind::StructuredOutput,
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
            | Self::StructuredOutput { details, .. }
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
            | Self::StructuredOutput { details, .. }
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
            | Self::StructuredOutput { message, .. }
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
            | Self::StructuredOutput { message, .. }
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

#[cfg(test)]
mod tests;
