//! [`run_agent_typed`]: an agent whose final answer is a typed value.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{run_agent, AgentOptions, AgentResult};
use crate::error::Result;
use crate::extract::ExtractOptions;
use crate::model::CompletionModel;
use crate::types::ChatMessage;
use blazen::tool::ToolDef;

/// What [`run_agent_typed`] returns: the agent's run and its final answer as a `T`.
#[derive(Debug)]
#[non_exhaustive]
pub struct TypedAgentResult<T> {
    /// The final answer, decoded and validated.
    pub value: T,
    /// The agent's run; its messages end with the typed answer (as JSON), and its usage and
    /// cost include the call that gave it.
    pub run: AgentResult,
}

/// [`run_agent`], then the final answer as a `T`: once the agent has answered, one more call
/// with the whole conversation, no tools and the agent's temperature and token limit asks for
/// the answer in `T`'s schema, through the
/// provider's own structured output (see
/// [`CompletionModel::extract_with`]; validated, with one repair by default).
///
/// ```no_run
/// use blazen_providers::{run_agent_typed, AgentOptions, ChatMessage, CompletionModel};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, JsonSchema)]
/// struct Forecast { city: String, celsius: f64 }
///
/// # async fn run(model: CompletionModel) -> blazen_providers::Result<()> {
/// let typed = run_agent_typed::<Forecast>(
///     &model,
///     vec![ChatMessage::user("How warm is it in Paris?")],
///     &[],
///     AgentOptions::default(),
/// )
/// .await?;
/// println!("{} °C in {}", typed.value.celsius, typed.value.city);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`run_agent`], and [`BlazenError::StructuredOutput`](crate::BlazenError) when the
/// answer still does not fit `T` after the repairs.
pub async fn run_agent_typed<T>(
    model: &CompletionModel,
    messages: Vec<ChatMessage>,
    tools: &[ToolDef],
    options: AgentOptions,
) -> Result<TypedAgentResult<T>>
where
    T: JsonSchema + DeserializeOwned,
{
    // The typed call samples as the agent's calls did (its temperature and token limit).
    let last = options.clone();
    let mut run = run_agent(model, messages, tools, options).await?;
    let request = super::build_request(&run.messages, &[], &last, false);
    let extracted = model
        .extract_with::<T>(request, ExtractOptions::default())
        .await?;
    if let Some(usage) = extracted.usage {
        run.total_usage = run.total_usage.saturating_add(usage);
    }
    if let Some(cost) = extracted.cost {
        *run.total_cost.get_or_insert(0.0) += cost;
    }
    run.messages
        .push(ChatMessage::assistant(extracted.raw.to_string()));
    run.response = extracted.response;
    Ok(TypedAgentResult {
        value: extracted.value,
        run,
    })
}
