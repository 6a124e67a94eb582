//! A [`CompletionModel`] as the model a tool's caller offers: MCP servers' tools sample it
//! through `McpClient::builder().sampling(model)`, and any `blazen::tool::ToolCaller` host can
//! answer `caller().sample(..)` with it.

use blazen::tool::{CallerError, Sample, SampleRequest, SampleRole, SamplingHandler};
use futures::future::BoxFuture;

use crate::model::CompletionModel;
use crate::types::{ChatMessage, CompletionRequest};

/// Answers a [`SampleRequest`] with one completion: the system prompt and the conversation as
/// chat messages, `max_tokens` and `temperature` as given. The answer's finish reason is given
/// in MCP's words (`endTurn`, `maxTokens`, `toolUse`, `stopSequence`, else as the provider
/// said it); an error becomes [`CallerError::Failed`] with its text (which never holds the
/// API key).
///
/// ```
/// use blazen::tool::SamplingHandler;
/// use blazen_providers::CompletionModel;
///
/// fn offered(_handler: impl SamplingHandler) {}
/// offered(CompletionModel::openai("sk-…").with_model("gpt-4.1-mini"));
/// ```
impl SamplingHandler for CompletionModel {
    fn sample(&self, request: SampleRequest) -> BoxFuture<'_, Result<Sample, CallerError>> {
        Box::pin(async move {
            let mut messages = Vec::with_capacity(request.messages.len() + 1);
            if let Some(system) = request.system_prompt {
                messages.push(ChatMessage::system(system));
            }
            for message in request.messages {
                messages.push(match message.role {
                    SampleRole::Assistant => ChatMessage::assistant(message.text),
                    _ => ChatMessage::user(message.text),
                });
            }
            let mut completion = CompletionRequest::new(messages).max_tokens(request.max_tokens);
            if let Some(temperature) = request.temperature {
                completion = completion.temperature(temperature);
            }
            let response = self
                .complete_with(completion)
                .await
                .map_err(|e| CallerError::Failed(e.to_string()))?;
            let mut sample = Sample::new(response.content.unwrap_or_default(), response.model);
            // The providers' finish reasons are normalised already (`stop`, `length`,
            // `tool_calls`, ...): MCP names the first three its own way.
            sample.stop_reason = response.finish_reason.map(|reason| {
                match reason.as_str() {
                    "stop" => "endTurn",
                    "length" => "maxTokens",
                    "tool_calls" => "toolUse",
                    other => return other.to_owned(),
                }
                .to_owned()
            });
            Ok(sample)
        })
    }
}
