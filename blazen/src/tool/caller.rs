//! [`ToolCaller`]: what a running tool can ask of whoever called it — report progress, log,
//! ask the caller's model (sampling), ask the caller's user (elicitation).
//!
//! A tool reads its caller with [`caller()`]. The host that runs the tool (blazen's MCP server,
//! or your own through [`ToolCaller::scope`]) installs a [`CallerBackend`] for the duration of
//! the call; without one, progress and log reports become `tracing` events (target
//! `blazen::tool`) and sampling and elicitation fail with [`CallerError::Unsupported`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::__private::ToolParam;
use super::error::ToolError;
use super::output::OutputSchema;

tokio::task_local! {
    static CALLER: ToolCaller;
}

/// The caller of the running tool; see [`caller()`].
///
/// ```
/// use blazen::prelude::*;
/// use blazen::tool::{caller, LogLevel};
///
/// /// Count to n, reporting progress.
/// #[tool]
/// async fn count(n: u32) -> u32 {
///     let caller = caller();
///     for i in 1..=n {
///         caller.progress(f64::from(i), Some(f64::from(n)), None).await;
///     }
///     caller.log(LogLevel::Info, json!("counted")).await;
///     n
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // Called directly there is no caller to report to: the reports are tracing events.
/// assert_eq!(count::tool().call(json!({"n": 3})).await.unwrap(), json!(3));
/// # }
/// ```
#[derive(Clone)]
pub struct ToolCaller {
    backend: Option<Arc<dyn CallerBackend>>,
}

impl fmt::Debug for ToolCaller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCaller")
            .field("connected", &self.backend.is_some())
            .finish()
    }
}

/// The caller of the tool running in this task: the one its host installed with
/// [`ToolCaller::scope`], or a caller that reports to `tracing` only.
pub fn caller() -> ToolCaller {
    CALLER
        .try_with(ToolCaller::clone)
        .unwrap_or(ToolCaller { backend: None })
}

/// The severity of a log report, as MCP and syslog name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// Something may be wrong.
    Warning,
    /// An operation failed.
    Error,
    /// A component failed.
    Critical,
    /// Action needed now.
    Alert,
    /// The system is unusable.
    Emergency,
}

/// A `tracing` event at the level matching a [`LogLevel`] (tracing's levels are constants
/// at each call site, hence a macro): debug, info (info and notice), warn, error (the rest).
macro_rules! event_at {
    ($level:expr, $($event:tt)+) => {
        match $level {
            $crate::tool::LogLevel::Debug => tracing::debug!($($event)+),
            $crate::tool::LogLevel::Info | $crate::tool::LogLevel::Notice => {
                tracing::info!($($event)+)
            }
            $crate::tool::LogLevel::Warning => tracing::warn!($($event)+),
            _ => tracing::error!($($event)+),
        }
    };
}
#[cfg(feature = "mcp")]
pub(crate) use event_at;

impl LogLevel {
    /// Records a tool's log report as a `tracing` event at this level (target
    /// `blazen::tool`): what [`ToolCaller::log`] does where no host takes the report.
    pub fn record(self, data: &Value) {
        event_at!(self, target: "blazen::tool", %data, "tool log");
    }
}

/// Who said a message of a [`SampleRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SampleRole {
    /// The user.
    User,
    /// The model.
    Assistant,
}

/// One message of a [`SampleRequest`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SampleMessage {
    /// Who said it.
    pub role: SampleRole,
    /// Its text.
    pub text: String,
}

impl SampleMessage {
    /// A message.
    pub fn new(role: SampleRole, text: impl Into<String>) -> Self {
        SampleMessage {
            role,
            text: text.into(),
        }
    }
}

/// A question for a model that is not the tool's own (MCP sampling): the conversation so
/// far, an optional system prompt and limits.
///
/// ```
/// use blazen::tool::{SampleRequest, SampleRole};
/// let request = SampleRequest::new("Name a colour")
///     .reply(SampleRole::Assistant, "Blue.")
///     .reply(SampleRole::User, "Another one")
///     .system_prompt("Answer in one word.")
///     .max_tokens(5);
/// assert_eq!(request.messages.len(), 3);
/// assert_eq!(request.prompt(), "Another one");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SampleRequest {
    /// The conversation, oldest first (a single user message for [`SampleRequest::new`]).
    pub messages: Vec<SampleMessage>,
    /// The system prompt, when there is one.
    pub system_prompt: Option<String>,
    /// The most tokens to generate (default 1024).
    pub max_tokens: u32,
    /// The sampling temperature, when set.
    pub temperature: Option<f32>,
}

impl SampleRequest {
    /// A request of one user message, with a limit of 1024 tokens.
    pub fn new(prompt: impl Into<String>) -> Self {
        SampleRequest {
            messages: vec![SampleMessage {
                role: SampleRole::User,
                text: prompt.into(),
            }],
            system_prompt: None,
            max_tokens: 1024,
            temperature: None,
        }
    }

    /// Adds a message to the conversation.
    pub fn reply(mut self, role: SampleRole, text: impl Into<String>) -> Self {
        self.messages.push(SampleMessage {
            role,
            text: text.into(),
        });
        self
    }

    /// The text of the last user message (empty when there is none).
    pub fn prompt(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == SampleRole::User)
            .map_or("", |m| m.text.as_str())
    }

    /// Sets the system prompt.
    pub fn system_prompt(mut self, system_prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(system_prompt.into());
        self
    }

    /// Sets the most tokens to generate.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }
}

/// The caller's model's answer to a [`SampleRequest`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// The answer's text.
    pub text: String,
    /// The model that answered, as the caller names it.
    pub model: String,
    /// Why it stopped (`endTurn`, `maxTokens`, …), when the caller says.
    pub stop_reason: Option<String>,
}

impl Sample {
    /// A sample answer (for [`CallerBackend`] implementations).
    pub fn new(text: impl Into<String>, model: impl Into<String>) -> Self {
        Sample {
            text: text.into(),
            model: model.into(),
            stop_reason: None,
        }
    }
}

/// The user's answer to an elicitation: the value, or that they declined or cancelled.
#[derive(Debug, Clone, PartialEq)]
pub enum Elicited<T> {
    /// The user gave the value.
    Accepted(T),
    /// The user chose not to answer; the tool may go on without it.
    Declined,
    /// The user dismissed the question.
    Cancelled,
}

/// Why a caller could not do what the tool asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallerError {
    /// The caller does not offer this (no MCP session, or its client lacks the capability).
    #[error("the tool's caller does not offer {0}")]
    Unsupported(&'static str),
    /// The caller was asked and failed (closed session, timeout, protocol error).
    #[error("the tool's caller failed: {0}")]
    Failed(String),
    /// The user's answer does not match the requested type.
    #[error("the answer does not match the requested form: {0}")]
    InvalidAnswer(ToolError),
}

impl From<CallerError> for ToolError {
    fn from(error: CallerError) -> Self {
        match error {
            CallerError::InvalidAnswer(error) => error,
            other => ToolError::new(other.to_string()),
        }
    }
}

/// How a host serves a tool's requests to its caller. blazen's MCP server implements it over
/// the MCP session; implement it to run tools in your own host, and install it with
/// [`ToolCaller::scope`].
pub trait CallerBackend: Send + Sync + 'static {
    /// Reports progress (`progress` grows with each report; `total` when known).
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> BoxFuture<'_, ()>;
    /// Sends a log report.
    fn log(&self, level: LogLevel, data: Value) -> BoxFuture<'_, ()>;
    /// Asks the caller's model.
    fn sample(&self, request: SampleRequest) -> BoxFuture<'_, Result<Sample, CallerError>>;
    /// Asks the caller's user to fill in the object `schema` (an object of primitive-typed
    /// properties), explained by `message`.
    fn elicit(
        &self,
        message: String,
        schema: Value,
    ) -> BoxFuture<'_, Result<Elicited<Value>, CallerError>>;
}

/// What answers sampling requests: a model. `blazen-providers`' `CompletionModel` is one; so
/// is any `Fn(SampleRequest) -> impl Future<Output = Result<Sample, CallerError>>`. Give one
/// to an MCP client (`McpClient::builder().sampling(..)`) to let its servers' tools ask it.
pub trait SamplingHandler: Send + Sync + 'static {
    /// Answers one request.
    fn sample(&self, request: SampleRequest) -> BoxFuture<'_, Result<Sample, CallerError>>;
}

impl<F, Fut> SamplingHandler for F
where
    F: Fn(SampleRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Sample, CallerError>> + Send + 'static,
{
    fn sample(&self, request: SampleRequest) -> BoxFuture<'_, Result<Sample, CallerError>> {
        Box::pin(self(request))
    }
}

/// What answers elicitation requests: a person, through your interface. Any
/// `Fn(String, Value) -> impl Future<Output = Result<Elicited<Value>, CallerError>>`, given the
/// message and the form's JSON Schema (an object of primitive-typed properties).
pub trait ElicitationHandler: Send + Sync + 'static {
    /// Asks the user to fill in `schema`, explained by `message`.
    fn elicit(
        &self,
        message: String,
        schema: Value,
    ) -> BoxFuture<'_, Result<Elicited<Value>, CallerError>>;
}

impl<F, Fut> ElicitationHandler for F
where
    F: Fn(String, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Elicited<Value>, CallerError>> + Send + 'static,
{
    fn elicit(
        &self,
        message: String,
        schema: Value,
    ) -> BoxFuture<'_, Result<Elicited<Value>, CallerError>> {
        Box::pin(self(message, schema))
    }
}

impl ToolCaller {
    /// A caller served by `backend`.
    pub fn new(backend: Arc<dyn CallerBackend>) -> Self {
        ToolCaller {
            backend: Some(backend),
        }
    }

    /// Runs `future` (a tool call) with this caller as its [`caller()`].
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CALLER.scope(self, future)
    }

    /// True when a host serves this caller (inside an MCP call, for example).
    pub fn is_connected(&self) -> bool {
        self.backend.is_some()
    }

    /// Reports progress to the caller (an MCP `notifications/progress` when the client asked
    /// for progress); without a host, a `tracing` event.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        match &self.backend {
            Some(backend) => backend.progress(progress, total, message).await,
            None => {
                tracing::debug!(target: "blazen::tool", progress, total, message, "tool progress")
            }
        }
    }

    /// Sends a log report to the caller (an MCP `notifications/message` at or above the level
    /// the client set); without a host, a `tracing` event at the matching level.
    pub async fn log(&self, level: LogLevel, data: Value) {
        match &self.backend {
            Some(backend) => backend.log(level, data).await,
            None => level.record(&data),
        }
    }

    /// Asks the caller's model (MCP sampling) and returns its answer.
    pub async fn sample(&self, request: SampleRequest) -> Result<Sample, CallerError> {
        match &self.backend {
            Some(backend) => backend.sample(request).await,
            None => Err(CallerError::Unsupported("sampling")),
        }
    }

    /// Asks the caller's user for a `T` (MCP elicitation), explained by `message`. `T` is a
    /// struct of primitive fields (strings, numbers, booleans, enums of strings); its schema
    /// is sent as the form, and the answer is checked against it as tool arguments are.
    pub async fn elicit<T>(&self, message: impl Into<String>) -> Result<Elicited<T>, CallerError>
    where
        T: ToolParam + DeserializeOwned,
    {
        let Some(backend) = &self.backend else {
            return Err(CallerError::Unsupported("elicitation"));
        };
        let schema = OutputSchema::<T>::new();
        let form = schema.schema().clone();
        match backend.elicit(message.into(), form).await? {
            Elicited::Accepted(value) => schema
                .decode(value)
                .map(Elicited::Accepted)
                .map_err(CallerError::InvalidAnswer),
            Elicited::Declined => Ok(Elicited::Declined),
            Elicited::Cancelled => Ok(Elicited::Cancelled),
        }
    }
}
