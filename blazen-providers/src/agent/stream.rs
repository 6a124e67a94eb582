//! [`run_agent_stream`]: the agent loop as a stream of events.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use blazen::tool::ToolDef;
use futures::channel::mpsc;
use futures::Stream;

use super::{drive, AgentOptions, AgentResult, ToolRun};
use crate::error::Result;
use crate::model::CompletionModel;
use crate::types::{ChatMessage, CompletionResponse, ToolCall};

/// What [`run_agent_stream`] yields while the agent runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AgentEvent {
    /// New answer text from the model, as it streams.
    TextDelta {
        /// The model call's number, from 1 (call *n* asks for the tools of round *n*; the
        /// answer after *k* rounds is call *k* + 1).
        iteration: usize,
        /// The new text.
        text: String,
    },
    /// A model call finished; `response` is the whole turn (text, tool calls, usage, cost).
    TurnCompleted {
        /// The model call's number, from 1 (as in [`AgentEvent::TextDelta`]).
        iteration: usize,
        /// The assembled answer of this call (boxed, as [`AgentEvent::Done`]'s result: an
        /// answer is far larger than the other events).
        response: Box<CompletionResponse>,
    },
    /// A tool call the model asked for starts running.
    ToolCallStarted {
        /// The tool-call round, from 1 (the number of the model call that asked for it).
        iteration: usize,
        /// The call.
        call: ToolCall,
    },
    /// A running tool reported progress (through `blazen::tool::caller()`; a tool from an
    /// MCP server reports the server's progress).
    ToolProgress {
        /// The tool-call round, from 1.
        iteration: usize,
        /// The call's id, as in [`AgentEvent::ToolCallStarted`]'s `call`.
        call_id: String,
        /// The progress so far (grows with each report).
        progress: f64,
        /// The total, when the tool knows it.
        total: Option<f64>,
        /// What the tool is doing, when it says.
        message: Option<String>,
    },
    /// A tool call finished, with its result or the error the model will read.
    ToolCallFinished {
        /// The call and its outcome.
        run: ToolRun,
    },
    /// The run is over; always the last event of a successful run.
    Done(Box<AgentResult>),
}

/// The stream [`run_agent_stream`] returns: `Stream<Item = Result<AgentEvent, BlazenError>>`.
///
/// The agent runs only while the stream is polled, and stops (its tool tasks aborted) when the
/// stream is dropped. After an `Err` item or [`AgentEvent::Done`] the stream ends.
pub struct AgentStream<'a> {
    driver: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
    events: mpsc::UnboundedReceiver<Result<AgentEvent>>,
}

impl fmt::Debug for AgentStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentStream")
            .field("running", &self.driver.is_some())
            .finish_non_exhaustive()
    }
}

impl Stream for AgentStream<'_> {
    type Item = Result<AgentEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(driver) = self.driver.as_mut() {
            if driver.as_mut().poll(cx).is_ready() {
                self.driver = None;
            }
        }
        // The driver owns the only sender: once it is done, the channel drains and ends.
        Pin::new(&mut self.events).poll_next(cx)
    }
}

/// [`run_agent`](super::run_agent) as a stream: yields [`AgentEvent::TextDelta`]s as the model
/// writes, [`AgentEvent::ToolCallStarted`] and [`AgentEvent::ToolCallFinished`] around each tool
/// call, [`AgentEvent::TurnCompleted`] after each model call, and finally
/// [`AgentEvent::Done`] with the same [`AgentResult`] `run_agent` returns. Model calls use the
/// provider's streaming API. An error ends the stream with an `Err` item.
///
/// Iterations are counted as in `run_agent`: [`AgentResult::iterations`] is the number of
/// tool-call rounds (0 for a direct answer), and once `max_iterations` rounds have run, one
/// last call with tools disabled is streamed like the others
/// (its deltas and [`AgentEvent::TurnCompleted`], then `Done` with
/// [`StopReason::MaxIterations`](super::StopReason::MaxIterations)).
///
/// ```no_run
/// use blazen_providers::{run_agent_stream, AgentEvent, AgentOptions, ChatMessage, CompletionModel};
/// use futures::StreamExt;
///
/// # #[tokio::main] async fn main() -> Result<(), blazen_providers::BlazenError> {
/// let model = CompletionModel::openai(std::env::var("OPENAI_API_KEY").unwrap_or_default());
/// let messages = vec![ChatMessage::user("Write a haiku about Rust.")];
/// let mut events = run_agent_stream(&model, messages, &[], AgentOptions::default());
/// while let Some(event) = events.next().await {
///     match event? {
///         AgentEvent::TextDelta { text, .. } => print!("{text}"),
///         AgentEvent::ToolCallStarted { call, .. } => println!("\n[calling {}]", call.name),
///         AgentEvent::Done(result) => println!("\n{} tool-call rounds", result.iterations),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub fn run_agent_stream<'a>(
    model: &'a CompletionModel,
    messages: Vec<ChatMessage>,
    tools: &'a [ToolDef],
    options: AgentOptions,
) -> AgentStream<'a> {
    let (tx, rx) = mpsc::unbounded();
    let driver = async move {
        let outcome = drive(model, messages, tools, options, Some(&tx)).await;
        let last = outcome.map(|result| AgentEvent::Done(Box::new(result)));
        // The receiver may be gone (stream dropped): nothing left to report then.
        let _ = tx.unbounded_send(last);
    };
    AgentStream {
        driver: Some(Box::pin(driver)),
        events: rx,
    }
}
