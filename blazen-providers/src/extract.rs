//! Typed structured output: [`CompletionModel::extract`] and [`CompletionModel::extract_with`].
//!
//! The schema of the answer's type is built and checked by [`blazen::OutputSchema`] (the
//! argument validation of `#[tool]`) and sent as [`ResponseFormat::Structured`], which each
//! provider turns into its own mechanism. An answer that does not match is sent back to the
//! model with the problems for a bounded number of repairs.

use serde::de::DeserializeOwned;
use serde_json::Value;

use blazen::{ArgumentError, OutputSchema};

use crate::error::{BlazenError, Result};
use crate::model::CompletionModel;
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ResponseFormat, TokenUsage, ToolSpec,
};

/// Options of [`CompletionModel::extract_with`].
///
/// ```
/// use blazen_providers::ExtractOptions;
/// let options = ExtractOptions { repairs: 2, ..ExtractOptions::default() };
/// assert!(!options.schema_in_prompt);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractOptions {
    /// How many times an answer that does not match the schema is sent back to the model with
    /// the problems, before [`BlazenError::StructuredOutput`] (default 1; 0 fails at once).
    pub repairs: u32,
    /// Send JSON mode and the schema in the prompt instead of the provider's own mechanism
    /// (for a [`Provider`](crate::Provider) of your own whose server has JSON mode only;
    /// default `false`).
    pub schema_in_prompt: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            repairs: 1,
            schema_in_prompt: false,
        }
    }
}

/// A typed answer with what it cost ([`CompletionModel::extract_with`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Extracted<T> {
    /// The answer, decoded.
    pub value: T,
    /// The JSON the model answered with (for a type that is not a struct, the object that
    /// wraps it under `value`).
    pub raw: Value,
    /// The last response (its `usage` and `cost` are that call's alone).
    pub response: CompletionResponse,
    /// How many answers were asked for (1 when the first one matched).
    pub attempts: u32,
    /// Token usage summed over every attempt.
    pub usage: Option<TokenUsage>,
    /// Cost summed over every attempt, when known.
    pub cost: Option<f64>,
}

impl CompletionModel {
    /// Asks for an answer of type `T` and returns it decoded.
    ///
    /// `T`'s JSON Schema is sent through the provider's own structured output mechanism
    /// (OpenAI-compatible `response_format: json_schema`, strict when the schema allows it;
    /// Gemini `responseJsonSchema`; a forced tool call for Anthropic and Bedrock; Cohere's JSON
    /// mode; JSON mode and the schema in the prompt for DeepSeek). The answer is checked with
    /// the argument validation of `#[tool]`; one that does not match is sent back once with the
    /// problems ([`ExtractOptions::repairs`]), then the call fails with
    /// [`BlazenError::StructuredOutput`], which names the fields and keeps the raw answer.
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use blazen_providers::{ChatMessage, CompletionModel};
    ///
    /// /// An invoice read from a document.
    /// #[derive(Debug, Deserialize, JsonSchema)]
    /// struct Invoice {
    ///     /// The invoice number, as printed.
    ///     number: String,
    ///     total: f64,
    /// }
    ///
    /// # async fn run(model: CompletionModel) -> blazen_providers::Result<()> {
    /// let messages = [ChatMessage::user("Invoice A-17, total 99.50 EUR")];
    /// let invoice: Invoice = model.extract::<Invoice>(&messages).await?;
    /// println!("{} {}", invoice.number, invoice.total);
    /// # Ok(()) }
    /// ```
    pub async fn extract<T>(&self, messages: &[ChatMessage]) -> Result<T>
    where
        T: schemars::JsonSchema + DeserializeOwned,
    {
        let request = CompletionRequest::new(messages.to_vec());
        Ok(self
            .extract_with::<T>(request, ExtractOptions::default())
            .await?
            .value)
    }

    /// [`extract`](Self::extract) for a request with options (model, temperature, tools, …)
    /// and [`ExtractOptions`]; returns the answer with the attempts, usage and cost summed over
    /// them. The request's response format is replaced by `T`'s schema.
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use blazen_providers::{BlazenError, ChatMessage, CompletionModel, CompletionRequest, ExtractOptions};
    ///
    /// #[derive(Debug, Deserialize, JsonSchema)]
    /// struct Verdict { approved: bool, reasons: Vec<String> }
    ///
    /// # async fn run(model: CompletionModel) -> blazen_providers::Result<()> {
    /// let request = CompletionRequest::new(vec![ChatMessage::user("Review this change: ...")])
    ///     .temperature(0.0);
    /// match model.extract_with::<Verdict>(request, ExtractOptions { repairs: 2, ..Default::default() }).await {
    ///     Ok(out) => println!("{:?} after {} attempts, {:?} tokens", out.value, out.attempts, out.usage),
    ///     Err(BlazenError::StructuredOutput { problems, .. }) => println!("no verdict: {problems:?}"),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn extract_with<T>(
        &self,
        request: CompletionRequest,
        options: ExtractOptions,
    ) -> Result<Extracted<T>>
    where
        T: schemars::JsonSchema + DeserializeOwned,
    {
        let schema = OutputSchema::<T>::new();
        let mut request =
            request.response_format(ResponseFormat::Structured(ToolSpec::from(&schema)));
        if options.schema_in_prompt {
            request = request.schema_in_prompt();
        }
        let mut usage: Option<TokenUsage> = None;
        let mut cost: Option<f64> = None;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let response = self.complete_with(request.clone()).await?;
            if let Some(u) = response.usage {
                usage = Some(usage.unwrap_or_default().saturating_add(u));
            }
            if let Some(c) = response.cost {
                *cost.get_or_insert(0.0) += c;
            }
            let text = response.content.clone().unwrap_or_default();
            let problems = match parse_answer(&text) {
                Ok(raw) => match schema.decode(raw.clone()) {
                    Ok(value) => {
                        return Ok(Extracted {
                            value,
                            raw,
                            response,
                            attempts,
                            usage,
                            cost,
                        })
                    }
                    Err(blazen::ToolError::InvalidArguments { problems }) => problems,
                    Err(other) => vec![ArgumentError::invalid("", other.to_string())],
                },
                Err(problem) => vec![problem],
            };
            if attempts > options.repairs {
                return Err(BlazenError::structured_output(
                    self.provider_name(),
                    problems,
                    &text,
                    attempts,
                    usage,
                    cost,
                ));
            }
            request.messages.push(ChatMessage::assistant(text));
            request
                .messages
                .push(ChatMessage::user(repair_prompt(&problems)));
        }
    }
}

/// The message that sends an answer's problems back to the model.
fn repair_prompt(problems: &[ArgumentError]) -> String {
    let list: Vec<String> = problems.iter().map(|p| format!("- {p}")).collect();
    format!(
        "Your answer does not match the required JSON Schema:\n{}\nAnswer again with only the \
         corrected JSON.",
        list.join("\n")
    )
}

/// The JSON of an answer: its text, or the text inside a Markdown code fence.
fn parse_answer(text: &str) -> std::result::Result<Value, ArgumentError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ArgumentError::invalid(
            "",
            "the answer is empty: answer with a JSON object",
        ));
    }
    let inner = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .map_or(trimmed, str::trim);
    serde_json::from_str(inner)
        .map_err(|e| ArgumentError::invalid("", format!("the answer is not valid JSON ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_code_fences_parse() {
        assert_eq!(
            parse_answer("```json\n{\"a\": 1}\n```").unwrap(),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            parse_answer(" {\"a\": 1} ").unwrap(),
            serde_json::json!({"a": 1})
        );
        assert!(parse_answer("").is_err());
        assert!(parse_answer("sure! {")
            .unwrap_err()
            .detail
            .contains("not valid JSON"));
    }
}
