//! The agent loop: a model that calls tools until it has an answer.
//!
//! [`run_agent`] sends the conversation with the tools offered, runs the tool calls of each turn
//! in parallel (bounded by [`AgentOptions::max_parallel_tools`]), appends their results as tool
//! messages linked by call id, and asks again, until the model answers without calling a tool,
//! calls the built-in `finish` tool ([`AgentOptions::add_finish_tool`]), or
//! [`AgentOptions::max_iterations`] tool-call rounds have run — then one last call with tools
//! disabled gets the answer. [`run_agent_stream`] does the same and yields text deltas and
//! tool-call events as they happen.
//!
//! # Iterations
//!
//! As in the seed, an *iteration* is a **tool-call round**: one model answer that asks for tools,
//! and the running of those tools (their results appended to the history).
//! [`AgentResult::iterations`] counts the rounds that ran, so a direct answer is 0 iterations and
//! "tools, tools, answer" is 2. [`AgentOptions::max_iterations`] bounds the rounds: once that
//! many have run, the next model call — the last — may not call tools ([`ToolChoice::None`]),
//! so `response.content` holds an answer built from the results so far, and the run reports
//! [`StopReason::MaxIterations`]. A run therefore makes at most `max_iterations + 1` model
//! calls, and the usage and cost of every one of them, the last included, are in the totals.
//! Model calls are numbered from 1 in [`AgentEvent`]s and [`ToolRun::iteration`]: the call
//! numbered *n* asks for the tools of round *n*.
//!
//! A tool call can fail in four ways — the tool does not exist, the model's arguments are not
//! valid JSON, they do not fit the tool's parameters, or the tool reports an error (or panics,
//! or times out) — and none of them ends the run: the error goes back to the model as the tool
//! result (`"Error: ..."`), so it can correct itself. Only errors of the model call itself
//! (network, authentication, provider) end the run, as `Err`.
//!
//! In workflows, [`stream_to_workflow`] runs one streamed LLM call inside a step and writes its
//! text deltas to the workflow's event stream as [`LlmDelta`] events.

mod stream;
mod typed;
mod workflow;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use blazen::tool::{
    CallerBackend, CallerError, Content, Elicited, LogLevel, Sample, SampleRequest, ToolCaller,
    ToolContent, ToolDef,
};
use futures::{FutureExt, StreamExt};
use serde_json::{json, Value};
use tracing::Instrument;

pub use typed::{run_agent_typed, TypedAgentResult};

use crate::error::{BlazenError, Result};
use crate::model::CompletionModel;
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, MediaType, TokenUsage,
    ToolCall, ToolChoice, ToolSpec,
};

pub use stream::{run_agent_stream, AgentEvent, AgentStream};
pub use workflow::{stream_to_workflow, LlmDelta};

/// How many times in a row the agent continues a turn the provider paused (`pause_turn`:
/// Anthropic's server tools ran long) before it stops with that turn as the answer. Each
/// continuation is one more model call in the same round.
pub const MAX_CONTINUATIONS: usize = 10;

/// The name of the built-in tool [`AgentOptions::add_finish_tool`] adds.
pub const FINISH_TOOL_NAME: &str = "finish";

/// Options of [`run_agent`]. `AgentOptions::default()` has the seed's defaults.
///
/// ```
/// use blazen_providers::AgentOptions;
///
/// let options = AgentOptions {
///     max_iterations: 5,
///     system_prompt: Some("You are a careful assistant.".into()),
///     ..AgentOptions::default()
/// };
/// assert!(!options.add_finish_tool);
/// let same = AgentOptions::new().max_iterations(5).system_prompt("You are a careful assistant.");
/// assert_eq!(same.max_iterations, options.max_iterations);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOptions {
    /// The most tool-call rounds the loop runs (default 10; must be at least 1). A round is one
    /// model answer that asks for tools and the running of those tools. Once this many rounds
    /// have run, one last model call is made with tools disabled (`tool_choice` none) to get an
    /// answer, and the run stops with [`StopReason::MaxIterations`]: at most
    /// `max_iterations + 1` model calls in all.
    pub max_iterations: usize,
    /// A system message put before the conversation.
    pub system_prompt: Option<String>,
    /// Sampling temperature of every model call.
    pub temperature: Option<f32>,
    /// Maximum tokens of every model call.
    pub max_tokens: Option<u32>,
    /// Offer a built-in `finish` tool (`{"answer": string}`); calling it ends the loop with its
    /// answer as `response.content`.
    pub add_finish_tool: bool,
    /// The most tool calls of one turn that run at once (default 8; 0 means no limit).
    pub max_parallel_tools: usize,
    /// A tool call running longer than this is abandoned and reported to the model as an error
    /// (default: no limit).
    pub tool_timeout: Option<Duration>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            max_iterations: 10,
            system_prompt: None,
            temperature: None,
            max_tokens: None,
            add_finish_tool: false,
            max_parallel_tools: 8,
            tool_timeout: None,
        }
    }
}

impl AgentOptions {
    /// The seed's defaults (same as `AgentOptions::default()`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`max_iterations`](Self::max_iterations).
    #[must_use]
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }

    /// Sets [`system_prompt`](Self::system_prompt).
    #[must_use]
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets [`temperature`](Self::temperature).
    #[must_use]
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets [`max_tokens`](Self::max_tokens).
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets [`add_finish_tool`](Self::add_finish_tool).
    #[must_use]
    pub fn add_finish_tool(mut self, add: bool) -> Self {
        self.add_finish_tool = add;
        self
    }

    /// Sets [`max_parallel_tools`](Self::max_parallel_tools).
    #[must_use]
    pub fn max_parallel_tools(mut self, n: usize) -> Self {
        self.max_parallel_tools = n;
        self
    }

    /// Sets [`tool_timeout`](Self::tool_timeout).
    #[must_use]
    pub fn tool_timeout(mut self, timeout: Duration) -> Self {
        self.tool_timeout = Some(timeout);
        self
    }
}

/// Why an agent run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The model answered without calling a tool.
    Completed,
    /// The model called the `finish` tool (that round counts as an iteration).
    FinishTool,
    /// `max_iterations` tool-call rounds ran (the model was still calling tools), so one last
    /// model call was made with tools disabled (`tool_choice` none); `response` is its answer,
    /// so `response.content` normally holds text. Its usage and cost are in the totals.
    ///
    /// On Bedrock, whose Converse API has no "none" tool choice and requires the tool
    /// definitions once the history holds tool calls, the last call offers the tools without
    /// forcing a choice. If a model calls tools in that last call anyway, they are not run
    /// either: each gets an `"Error: not run: ..."` tool result in `messages`, so the history
    /// stays valid to continue from, and `response` is that turn as it came.
    MaxIterations,
}

/// Why one tool call failed; its `Display` text is what the model reads (after `"Error: "`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolCallError {
    /// The model called a tool that is not offered.
    #[error("unknown tool `{name}`; the available tools are: {available}")]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// The offered tool names, comma-separated.
        available: String,
    },
    /// The model's arguments are not valid JSON.
    #[error("the arguments of `{name}` are not valid JSON ({reason}); send a JSON object")]
    InvalidJson {
        /// The tool.
        name: String,
        /// The parser's message.
        reason: String,
    },
    /// The tool refused the arguments or failed (the tool's own message).
    #[error("{0}")]
    Tool(blazen::ToolError),
    /// The tool did not finish within [`AgentOptions::tool_timeout`].
    #[error("the tool `{name}` did not finish within {}ms", .timeout.as_millis())]
    TimedOut {
        /// The tool.
        name: String,
        /// The limit.
        timeout: Duration,
    },
    /// The tool's task was cancelled or lost.
    #[error("the tool `{name}` was cancelled before it finished")]
    Cancelled {
        /// The tool.
        name: String,
    },
    /// The `finish` tool was called without an `answer`.
    #[error("the `finish` tool needs an `answer` argument (a string with the final answer)")]
    FinishWithoutAnswer,
}

/// One tool call the agent ran, and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRun {
    /// The tool-call round this call ran in, from 1 (also the number of the model call that
    /// asked for it).
    pub iteration: usize,
    /// The call as the model made it.
    pub call: ToolCall,
    /// The tool's result, or why the call failed.
    pub output: std::result::Result<Value, ToolCallError>,
}

impl ToolRun {
    /// The text sent back to the model as the tool message: a string result as is, a
    /// [`ToolContent`] result as its text with a line per image, audio or binary block (images
    /// follow in a user message, see [`ToolRun::images`]; audio and binary resources are not
    /// sent), any other result as JSON, an error as `"Error: <reason>"`.
    pub fn content(&self) -> String {
        self.message().0
    }

    /// The images of a [`ToolContent`] result. Tool messages carry text only with most
    /// providers, so the agent sends these in one user message after the round's tool
    /// messages.
    pub fn images(&self) -> Vec<ContentPart> {
        self.message().1
    }

    /// [`content`](Self::content) and [`images`](Self::images) from one reading of the result
    /// (the agent needs both for each tool message).
    fn message(&self) -> (String, Vec<ContentPart>) {
        let content = match &self.output {
            Ok(Value::String(s)) => return (s.clone(), Vec::new()),
            Ok(v) => match ToolContent::from_value(v) {
                Some(content) => content,
                None => return (v.to_string(), Vec::new()),
            },
            Err(e) => return (format!("Error: {e}"), Vec::new()),
        };
        let text = describe(&content);
        let images = content
            .content
            .into_iter()
            .filter_map(|block| match block {
                Content::Image { data, mime_type } => {
                    Some(ContentPart::image_base64(data, MediaType::new(mime_type)))
                }
                _ => None,
            })
            .collect();
        (text, images)
    }
}

/// A [`ToolContent`] as the text of a tool message.
fn describe(content: &ToolContent) -> String {
    let mut lines: Vec<String> = content
        .content
        .iter()
        .map(|block| match block {
            Content::Text { text } => text.clone(),
            Content::Image { mime_type, .. } => format!("[{mime_type} image: attached below]"),
            Content::Audio { mime_type, .. } => format!("[{mime_type} audio: not shown]"),
            Content::Resource { resource } => match &resource.text {
                Some(text) => format!("[resource {}]\n{text}", resource.uri),
                None => format!("[binary resource {}: not shown]", resource.uri),
            },
            Content::ResourceLink { uri, name, .. } => format!("[resource link {name}: {uri}]"),
            _ => "[content of an unknown kind: not shown]".to_owned(),
        })
        .collect();
    if let Some(structured) = &content.structured {
        if lines.is_empty() {
            lines.push(structured.to_string());
        }
    }
    lines.join("\n")
}

/// The outcome of [`run_agent`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgentResult {
    /// The final completion response. When the run ended through the `finish` tool, `content`
    /// holds the finish tool's answer; when it hit `max_iterations`, this is the answer of the
    /// last call, made with tools disabled.
    pub response: CompletionResponse,
    /// The whole conversation: system prompt, the messages given, every assistant turn with its
    /// tool calls and every tool result.
    pub messages: Vec<ChatMessage>,
    /// The number of tool-call rounds that ran (at most `max_iterations`): 0 for a direct
    /// answer. The number of model calls is `iterations + 1` (or `iterations` when the run
    /// ended through the `finish` tool).
    pub iterations: usize,
    /// The sum of the costs in USD of every model call of the run (the final tool-less call
    /// included); `None` only if no response had a cost.
    pub total_cost: Option<f64>,
    /// The sum of the token usage of every model call (responses without usage count zero).
    pub total_usage: TokenUsage,
    /// Why the loop stopped.
    pub stop_reason: StopReason,
    /// Every tool call that ran, in order.
    pub tool_runs: Vec<ToolRun>,
}

impl AgentResult {
    /// The final answer: the finish tool's answer or the model's last text.
    pub fn answer(&self) -> Option<&str> {
        self.response.content.as_deref()
    }

    /// Whether the run stopped because it reached `max_iterations` tool-call rounds (the answer
    /// then comes from a last call made with tools disabled).
    pub fn hit_max_iterations(&self) -> bool {
        self.stop_reason == StopReason::MaxIterations
    }
}

/// Runs the agent loop: the model is called repeatedly, the tools it asks for run and their
/// results go back to it, until it answers without calling a tool, calls `finish`, or
/// `max_iterations` tool-call rounds have run (see [`AgentResult::stop_reason`]).
///
/// [`AgentResult::iterations`] counts tool-call rounds, as the seed does: a direct answer is 0,
/// and "tools, tools, answer" is 2. Once `max_iterations` rounds have run, one last model call
/// is made with the tools disabled (`tool_choice` none, the tool definitions still sent because
/// providers need them beside a history of tool calls), and its answer is `response` — so
/// `response.content` holds text — with [`StopReason::MaxIterations`]. Usage and cost of every model call, that last one
/// included, are summed in `total_usage` and `total_cost`.
///
/// Tool calls of one turn run in parallel (at most [`AgentOptions::max_parallel_tools`] at a
/// time, each in its own task on a Tokio runtime) and their results are appended in the order
/// of the calls. Failed tool calls are reported to the model, never returned as `Err`; a
/// [`BlazenError::Validation`] is returned for bad options (`max_iterations` 0, two tools with
/// one name), and the model's own errors are returned as they are.
///
/// ```no_run
/// use blazen::prelude::*;
/// use blazen_providers::{run_agent, AgentOptions, ChatMessage, CompletionModel};
///
/// /// Get the current weather for a city.
/// #[tool]
/// async fn weather(
///     /// The city name.
///     city: String,
/// ) -> Result<String, String> {
///     Ok(format!("18°C and sunny in {city}"))
/// }
///
/// # #[tokio::main] async fn main() -> Result<(), blazen_providers::BlazenError> {
/// let model = CompletionModel::openai(std::env::var("OPENAI_API_KEY").unwrap_or_default());
/// let messages = vec![ChatMessage::user("What's the weather in Paris and London?")];
/// let result = run_agent(&model, messages, &[weather::tool()], AgentOptions::default()).await?;
/// println!("{}", result.answer().unwrap_or_default()); // the final answer
/// println!("{} tool-call rounds, cost {:?}", result.iterations, result.total_cost);
/// # Ok(()) }
/// ```
///
/// The limit, with a stand-in model that asks for a tool whenever it may:
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use blazen::ToolDef;
/// use blazen_providers::{
///     run_agent, AgentOptions, ChatMessage, ChunkStream, CompletionModel, CompletionRequest,
///     CompletionResponse, Provider, Result, StopReason, ToolCall, ToolChoice,
/// };
/// use serde_json::{json, Value};
///
/// /// Calls `clock` until told not to call tools, then answers.
/// #[derive(Debug)]
/// struct Eager;
///
/// #[async_trait]
/// impl Provider for Eager {
///     fn name(&self) -> &str { "eager" }
///     fn model_id(&self) -> &str { "eager-1" }
///     async fn complete(&self, req: CompletionRequest) -> Result<CompletionResponse> {
///         let mut r = CompletionResponse { model: "eager-1".into(), ..Default::default() };
///         if req.tool_choice == Some(ToolChoice::None) {
///             r.content = Some("It is noon.".into());
///         } else {
///             let id = format!("call_{}", req.messages.len());
///             r.tool_calls = vec![ToolCall::new(id, "clock", json!({}))];
///         }
///         Ok(r)
///     }
///     async fn stream(&self, _req: CompletionRequest) -> Result<ChunkStream> {
///         unreachable!("run_agent does not stream")
///     }
///     fn with_model(&self, _model: &str) -> Arc<dyn Provider> { Arc::new(Eager) }
///     fn with_base_url(&self, _url: &str) -> Arc<dyn Provider> { Arc::new(Eager) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
/// let clock = ToolDef::new("clock", "The time", json!({"type": "object"}), |_: Value| json!("12:00"));
/// let model = CompletionModel::from_provider(Eager);
/// let options = AgentOptions::new().max_iterations(2);
/// let result = run_agent(&model, vec![ChatMessage::user("Time?")], &[clock], options).await?;
/// assert_eq!(result.iterations, 2); // two rounds of `clock` ran...
/// assert_eq!(result.tool_runs.len(), 2);
/// assert_eq!(result.stop_reason, StopReason::MaxIterations);
/// assert_eq!(result.answer(), Some("It is noon.")); // ...then a call without tools answered
/// # Ok(()) }
/// ```
pub async fn run_agent(
    model: &CompletionModel,
    messages: Vec<ChatMessage>,
    tools: &[ToolDef],
    options: AgentOptions,
) -> Result<AgentResult> {
    drive(model, messages, tools, options, None).await
}

/// Where the streaming variant sends its events; `None` for [`run_agent`].
type EventSink = futures::channel::mpsc::UnboundedSender<Result<AgentEvent>>;

/// Sends the event `event` builds, when there is a stream to send it to (a plain `run_agent`
/// builds none: no copies of responses and tool results for nobody).
fn emit(sink: Option<&EventSink>, event: impl FnOnce() -> AgentEvent) {
    if let Some(sink) = sink {
        // A closed receiver means the consumer dropped the stream; nothing to tell it.
        let _ = sink.unbounded_send(Ok(event()));
    }
}

/// The loop shared by [`run_agent`] and [`run_agent_stream`], inside its `invoke_agent` span
/// (the model calls and tool calls are its children).
async fn drive(
    model: &CompletionModel,
    messages: Vec<ChatMessage>,
    tools: &[ToolDef],
    options: AgentOptions,
    sink: Option<&EventSink>,
) -> Result<AgentResult> {
    let span = crate::telemetry::agent_span(model);
    let result = drive_loop(model, messages, tools, options, sink)
        .instrument(span.clone())
        .await;
    crate::telemetry::record_agent(&span, &result);
    result
}

async fn drive_loop(
    model: &CompletionModel,
    messages: Vec<ChatMessage>,
    tools: &[ToolDef],
    options: AgentOptions,
    sink: Option<&EventSink>,
) -> Result<AgentResult> {
    if options.max_iterations == 0 {
        return Err(BlazenError::validation(
            "run_agent: max_iterations must be at least 1",
        ));
    }
    let specs = tool_specs(tools, options.add_finish_tool)?;

    let mut history = Vec::with_capacity(messages.len() + 1);
    if let Some(prompt) = &options.system_prompt {
        history.push(ChatMessage::system(prompt.clone()));
    }
    history.extend(messages);

    let mut totals = Totals::default();
    let mut tool_runs = Vec::new();
    // Tool-call rounds run so far (what `AgentResult::iterations` reports).
    let mut rounds = 0;
    // `pause_turn` continuations in a row, in this round (see `MAX_CONTINUATIONS`).
    let mut continuations = 0;
    loop {
        // Model calls are numbered from 1: call n asks for the tools of round n.
        let call = rounds + 1;
        // Only true after a round: the model was calling tools, the limit allows no more.
        let last_call = rounds >= options.max_iterations;
        let request = build_request(&history, &specs, &options, last_call);
        let mut response = complete(model, request, call, sink).await?;
        totals.add(&response);
        history.push(response.to_message());
        emit(sink, || AgentEvent::TurnCompleted {
            iteration: call,
            response: Box::new(response.clone()),
        });

        if last_call {
            // A model that ignored the tool choice: its calls are not run, but each gets a
            // result so the history stays valid to continue from.
            for tool_call in &response.tool_calls {
                history.push(ChatMessage::tool_result(
                    tool_call.id.clone(),
                    not_run(options.max_iterations),
                ));
            }
            return Ok(totals.finish(
                response,
                history,
                rounds,
                StopReason::MaxIterations,
                tool_runs,
            ));
        }
        // Anthropic paused a long turn (its server tools at work): the turn goes back as it is
        // (`native_content`) and the model goes on, in the same round.
        if response.tool_calls.is_empty()
            && response.finish_reason.as_deref() == Some("pause_turn")
            && continuations < MAX_CONTINUATIONS
        {
            continuations += 1;
            continue;
        }
        if response.tool_calls.is_empty() {
            return Ok(totals.finish(response, history, rounds, StopReason::Completed, tool_runs));
        }

        let runs = run_tool_calls(call, &response.tool_calls, tools, &options, sink).await;
        rounds += 1;
        // A new round: paused turns are counted in a row.
        continuations = 0;
        let mut answer = None;
        let mut images = Vec::new();
        for run in &runs {
            let (text, run_images) = run.message();
            history.push(ChatMessage::tool_result(run.call.id.clone(), text));
            images.extend(run_images);
            if options.add_finish_tool && run.call.name == FINISH_TOOL_NAME && answer.is_none() {
                if let Ok(value) = &run.output {
                    answer = Some(
                        value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned),
                    );
                }
            }
        }
        tool_runs.extend(runs);
        if !images.is_empty() {
            let mut parts = vec![ContentPart::text(
                "The images the tool calls above returned:",
            )];
            parts.append(&mut images);
            history.push(ChatMessage::user_parts(parts));
        }

        if let Some(answer) = answer {
            response.content = Some(answer);
            return Ok(totals.finish(response, history, rounds, StopReason::FinishTool, tool_runs));
        }
    }
}

/// The request of one model call: the whole history, the tools, the options. The last call
/// after `max_iterations` rounds keeps the tool definitions (providers reject a history of tool
/// calls without them) but may not call tools.
fn build_request(
    history: &[ChatMessage],
    specs: &[ToolSpec],
    options: &AgentOptions,
    last_call: bool,
) -> CompletionRequest {
    let mut request = CompletionRequest::new(history.to_vec()).tools(specs.iter().cloned());
    if last_call && !specs.is_empty() {
        // Bedrock's Converse API has no "none" choice: beside tool calls in the history its
        // converter keeps the tools offered with the default choice, so the model may still
        // call one there (see `StopReason::MaxIterations`).
        request = request.tool_choice(ToolChoice::None);
    }
    if let Some(t) = options.temperature {
        request = request.temperature(t);
    }
    if let Some(m) = options.max_tokens {
        request = request.max_tokens(m);
    }
    request
}

/// One model call: blocking for [`run_agent`], streamed (text deltas sent as events) for
/// [`run_agent_stream`].
async fn complete(
    model: &CompletionModel,
    request: CompletionRequest,
    call: usize,
    sink: Option<&EventSink>,
) -> Result<CompletionResponse> {
    match sink {
        None => model.complete_with(request).await,
        Some(sink) => {
            let deltas = sink.clone();
            model
                .stream_request_with(request, move |chunk| {
                    if let Some(text) = chunk.delta.filter(|d| !d.is_empty()) {
                        let _ = deltas.unbounded_send(Ok(AgentEvent::TextDelta {
                            iteration: call,
                            text,
                        }));
                    }
                })
                .await
        }
    }
}

/// The tool result of a call made after the limit, which is not run.
fn not_run(max_iterations: usize) -> String {
    format!(
        "Error: not run: the limit of {max_iterations} tool-call rounds (max_iterations) was \
         reached; answer with the results you have"
    )
}

/// Running sums of cost and usage.
#[derive(Default)]
struct Totals {
    cost: Option<f64>,
    usage: TokenUsage,
}

impl Totals {
    fn add(&mut self, response: &CompletionResponse) {
        if let Some(cost) = response.cost {
            self.cost = Some(self.cost.unwrap_or(0.0) + cost);
        }
        if let Some(u) = response.usage {
            self.usage = self.usage.saturating_add(u);
        }
    }

    fn finish(
        self,
        response: CompletionResponse,
        messages: Vec<ChatMessage>,
        iterations: usize,
        stop_reason: StopReason,
        tool_runs: Vec<ToolRun>,
    ) -> AgentResult {
        AgentResult {
            response,
            messages,
            iterations,
            total_cost: self.cost,
            total_usage: self.usage,
            stop_reason,
            tool_runs,
        }
    }
}

/// The tools as the provider sees them, plus `finish` when asked; names must be unique.
fn tool_specs(tools: &[ToolDef], add_finish_tool: bool) -> Result<Vec<ToolSpec>> {
    let mut seen = HashSet::new();
    for tool in tools {
        if !seen.insert(tool.name.as_str()) {
            return Err(BlazenError::validation(format!(
                "run_agent: two tools are named `{}`; tool names must be unique",
                tool.name
            )));
        }
    }
    if add_finish_tool && seen.contains(FINISH_TOOL_NAME) {
        return Err(BlazenError::validation(
            "run_agent: add_finish_tool is set but a tool is already named `finish`",
        ));
    }
    let mut specs: Vec<ToolSpec> = tools.iter().map(ToolSpec::from).collect();
    if add_finish_tool {
        specs.push(finish_tool_spec());
    }
    Ok(specs)
}

fn finish_tool_spec() -> ToolSpec {
    ToolSpec::new(
        FINISH_TOOL_NAME,
        "Call this tool once the task is complete, with your final answer for the user. \
         Calling it ends the conversation.",
        json!({
            "type": "object",
            "properties": {
                "answer": {"type": "string", "description": "The final answer for the user."}
            },
            "required": ["answer"],
            "additionalProperties": false,
        }),
    )
}

/// Runs the calls of one turn, at most `max_parallel_tools` at once, results in call order.
async fn run_tool_calls(
    iteration: usize,
    calls: &[ToolCall],
    tools: &[ToolDef],
    options: &AgentOptions,
    sink: Option<&EventSink>,
) -> Vec<ToolRun> {
    let limit = match options.max_parallel_tools {
        0 => calls.len().max(1),
        n => n,
    };
    futures::stream::iter(calls.iter().cloned())
        .map(|call| {
            emit(sink, || AgentEvent::ToolCallStarted {
                iteration,
                call: call.clone(),
            });
            // A streaming agent passes its tools' progress on as events.
            let caller = sink.map(|sink| {
                ToolCaller::new(std::sync::Arc::new(ProgressToEvents {
                    sink: sink.clone(),
                    iteration,
                    call_id: call.id.clone(),
                }))
            });
            let output = run_one(&call, tools, options, caller);
            async move {
                let run = ToolRun {
                    iteration,
                    call,
                    output: output.await,
                };
                emit(sink, || AgentEvent::ToolCallFinished { run: run.clone() });
                run
            }
        })
        .buffered(limit)
        .collect()
        .await
}

/// Runs one call: checks the name and the JSON, then the tool (in its own task when a Tokio
/// runtime is available, so the calls of a turn run on several threads), with the timeout.
fn run_one(
    call: &ToolCall,
    tools: &[ToolDef],
    options: &AgentOptions,
    caller: Option<ToolCaller>,
) -> impl Future<Output = std::result::Result<Value, ToolCallError>> + Send + 'static {
    let name = call.name.clone();
    let timeout = options.tool_timeout;
    let prepared = prepare(call, tools, options);
    let span = crate::telemetry::tool_span(call);
    let recorded = span.clone();
    async move {
        let future = match prepared? {
            Work::Finish(answer) => return answer,
            // The tool's own spans are children of its `execute_tool` span.
            Work::Tool(future) => match caller {
                Some(caller) => Box::pin(caller.scope(future).instrument(span)) as ToolFuture,
                None => Box::pin(future.instrument(span)) as ToolFuture,
            },
        };
        let task = Spawned::new(future);
        let result = match timeout {
            Some(limit) => match tokio::time::timeout(limit, task).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(ToolCallError::TimedOut {
                        name,
                        timeout: limit,
                    })
                }
            },
            None => task.await,
        };
        match result {
            Some(r) => r.map_err(ToolCallError::Tool),
            None => Err(ToolCallError::Cancelled { name }),
        }
    }
    .inspect(move |output| crate::telemetry::record_tool(&recorded, output))
}

/// The caller of a streaming agent's tool call: its progress becomes
/// [`AgentEvent::ToolProgress`]; log reports stay `tracing` events; the agent offers no
/// sampling or elicitation.
struct ProgressToEvents {
    sink: EventSink,
    iteration: usize,
    call_id: String,
}

impl CallerBackend for ProgressToEvents {
    fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> futures::future::BoxFuture<'_, ()> {
        emit(Some(&self.sink), || AgentEvent::ToolProgress {
            iteration: self.iteration,
            call_id: self.call_id.clone(),
            progress,
            total,
            message,
        });
        Box::pin(std::future::ready(()))
    }

    fn log(&self, level: LogLevel, data: Value) -> futures::future::BoxFuture<'_, ()> {
        level.record(&data);
        Box::pin(std::future::ready(()))
    }

    fn sample(
        &self,
        _request: SampleRequest,
    ) -> futures::future::BoxFuture<'_, std::result::Result<Sample, CallerError>> {
        Box::pin(std::future::ready(Err(CallerError::Unsupported(
            "sampling",
        ))))
    }

    fn elicit(
        &self,
        _message: String,
        _schema: Value,
    ) -> futures::future::BoxFuture<'_, std::result::Result<Elicited<Value>, CallerError>> {
        Box::pin(std::future::ready(Err(CallerError::Unsupported(
            "elicitation",
        ))))
    }
}

/// Checks the call's JSON and tool name; returns the work to do.
fn prepare(
    call: &ToolCall,
    tools: &[ToolDef],
    options: &AgentOptions,
) -> std::result::Result<Work, ToolCallError> {
    if let Some(reason) = &call.invalid_arguments {
        return Err(ToolCallError::InvalidJson {
            name: call.name.clone(),
            reason: reason.clone(),
        });
    }
    if options.add_finish_tool && call.name == FINISH_TOOL_NAME {
        return Ok(Work::Finish(finish_answer(&call.arguments)));
    }
    let Some(tool) = tools.iter().find(|t| t.name == call.name) else {
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        if options.add_finish_tool {
            names.push(FINISH_TOOL_NAME);
        }
        return Err(ToolCallError::UnknownTool {
            name: call.name.clone(),
            available: if names.is_empty() {
                "(none)".to_owned()
            } else {
                names.join(", ")
            },
        });
    };
    Ok(Work::Tool(Box::pin(tool.call(call.arguments.clone()))))
}

type ToolFuture =
    Pin<Box<dyn Future<Output = std::result::Result<Value, blazen::ToolError>> + Send>>;

enum Work {
    Finish(std::result::Result<Value, ToolCallError>),
    Tool(ToolFuture),
}

fn finish_answer(arguments: &Value) -> std::result::Result<Value, ToolCallError> {
    match arguments {
        Value::String(s) if !s.is_empty() => Ok(Value::String(s.clone())),
        Value::Object(map) => match map.get("answer") {
            Some(Value::Null) | None => Err(ToolCallError::FinishWithoutAnswer),
            Some(v) => Ok(v.clone()),
        },
        _ => Err(ToolCallError::FinishWithoutAnswer),
    }
}

/// A tool future running in its own Tokio task (aborted when dropped), or inline when no Tokio
/// runtime is current. Resolves to `None` if the task was cancelled.
enum Spawned {
    Task(tokio::task::JoinHandle<std::result::Result<Value, blazen::ToolError>>),
    Inline(ToolFuture),
}

impl fmt::Debug for Spawned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Spawned::Task(_) => "Spawned::Task",
            Spawned::Inline(_) => "Spawned::Inline",
        })
    }
}

impl Spawned {
    fn new(future: ToolFuture) -> Self {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => Spawned::Task(handle.spawn(future)),
            Err(_) => Spawned::Inline(future),
        }
    }
}

impl Future for Spawned {
    type Output = Option<std::result::Result<Value, blazen::ToolError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Spawned::Task(handle) => Pin::new(handle).poll(cx).map(std::result::Result::ok),
            Spawned::Inline(future) => future.as_mut().poll(cx).map(Some),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Spawned::Task(handle) = self {
            handle.abort();
        }
    }
}
