//! What a completion call sends: [`CompletionRequest`], its [`ToolSpec`]s (one schema per
//! [`ToolDialect`]), [`ToolChoice`] and [`ResponseFormat`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ChatMessage;
use crate::error::BlazenError;

/// Which tool the model may or must call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides (the providers' default).
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call at least one tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// The shape the answer must take.
///
/// [`ResponseFormat::Structured`] (what [`CompletionModel::extract`](crate::CompletionModel::extract)
/// sends) carries the schema rendered for every provider family, so each provider uses its own
/// mechanism: OpenAI-compatible `response_format: json_schema` (strict when the schema allows
/// it), Gemini `responseJsonSchema`, Anthropic and Bedrock a forced tool call, Cohere its JSON
/// mode with the schema; a server without any of these (DeepSeek) gets JSON mode and the schema
/// in the prompt ([`CompletionRequest::schema_in_prompt`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema (structured output).
    JsonSchema {
        /// A name for the schema (`[a-zA-Z0-9_-]`).
        name: String,
        /// The JSON Schema.
        schema: Value,
        /// Whether the provider must follow the schema strictly.
        strict: bool,
    },
    /// JSON matching a schema rendered for every provider family (name, description, the
    /// standard schema and its strict and Gemini renderings), as a tool's parameters are.
    /// Build it with [`ResponseFormat::for_type`].
    Structured(ToolSpec),
}

impl ResponseFormat {
    /// Structured output following `schema`, strictly.
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        ResponseFormat::JsonSchema {
            name: name.into(),
            schema,
            strict: true,
        }
    }

    /// Structured output of the type `T`, its schema built as `#[tool]` builds parameters
    /// ([`blazen::OutputSchema`]) and rendered for every provider family.
    ///
    /// ```
    /// use blazen::prelude::*;
    /// use blazen_providers::{ResponseFormat, ToolDialect};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct City { name: String, population: Option<u64> }
    ///
    /// let ResponseFormat::Structured(spec) = ResponseFormat::for_type::<City>() else { panic!() };
    /// assert_eq!(spec.name, "City");
    /// assert!(spec.openai_strict.is_some()); // strict mode can express it
    /// assert_eq!(spec.parameters_for(ToolDialect::OpenAiStrict)["required"], json!(["name", "population"]));
    /// ```
    pub fn for_type<T: serde::de::DeserializeOwned + schemars::JsonSchema>() -> Self {
        ResponseFormat::Structured(ToolSpec::from(&blazen::OutputSchema::<T>::new()))
    }

    /// The schema to send in `dialect` and whether it may be sent with `strict: true`
    /// (`None` for text and plain JSON).
    pub(crate) fn schema_for(&self, dialect: ToolDialect) -> Option<(&Value, bool)> {
        match self {
            ResponseFormat::Text | ResponseFormat::JsonObject => None,
            ResponseFormat::JsonSchema { schema, strict, .. } => Some((schema, *strict)),
            ResponseFormat::Structured(spec) => {
                let strict = dialect == ToolDialect::OpenAiStrict && spec.openai_strict.is_some();
                let dialect = if dialect == ToolDialect::OpenAiStrict && !strict {
                    ToolDialect::OpenAi
                } else {
                    dialect
                };
                Some((spec.parameters_for(dialect), strict))
            }
        }
    }

    /// The schema's name (`None` for text and plain JSON).
    pub(crate) fn schema_name(&self) -> Option<&str> {
        match self {
            ResponseFormat::Text | ResponseFormat::JsonObject => None,
            ResponseFormat::JsonSchema { name, .. } => Some(name),
            ResponseFormat::Structured(spec) => Some(&spec.name),
        }
    }

    /// Whether the answer must be JSON.
    pub(crate) fn is_json(&self) -> bool {
        !matches!(self, ResponseFormat::Text)
    }

    /// The forced tool through which a provider without a JSON mode (Anthropic, Bedrock) takes a
    /// JSON answer: its input schema in `dialect` (any object when no schema is given) and its
    /// description (the schema's own, else [`STRUCTURED_TOOL_DESCRIPTION`]). `None` for free text.
    pub(crate) fn answer_tool(&self, dialect: ToolDialect) -> Option<(Value, String)> {
        if !self.is_json() {
            return None;
        }
        let schema = self.schema_for(dialect).map_or_else(
            || serde_json::json!({"type": "object"}),
            |(schema, _)| schema.clone(),
        );
        let description = match self {
            ResponseFormat::Structured(spec) if !spec.description.is_empty() => {
                spec.description.clone()
            }
            _ => STRUCTURED_TOOL_DESCRIPTION.to_owned(),
        };
        Some((schema, description))
    }
}

/// The description of the forced tool that carries a structured answer, when the schema has none.
const STRUCTURED_TOOL_DESCRIPTION: &str = "Answer with a JSON value that follows this schema.";

/// The dialect a tool's parameter schema is written in for a given provider.
///
/// The same type as [`blazen::SchemaDialect`] (one enum for both crates), under the name this
/// crate gives it: a value of one is a value of the other.
pub use blazen::SchemaDialect as ToolDialect;

/// A tool as a provider sees it: name, description and parameter schema in each dialect.
///
/// Built from a `blazen` [`ToolDef`](blazen::tool::ToolDef) (`ToolSpec::from(&def)`, which renders
/// the parameters in each schema dialect) or by hand with [`ToolSpec::new`].
///
/// ```
/// use blazen_providers::{ToolDialect, ToolSpec};
/// use serde_json::json;
/// let spec = ToolSpec::new("weather", "Current weather", json!({"type": "object"}));
/// assert_eq!(spec.parameters_for(ToolDialect::OpenAi)["type"], "object");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Unique tool name exposed to the model.
    pub name: String,
    /// What the tool does (the model reads it).
    pub description: String,
    /// The parameter schema as written (JSON Schema).
    pub parameters: Value,
    /// The schema rewritten for OpenAI strict mode, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openai_strict: Option<Value>,
    /// The schema rewritten for Gemini, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemini: Option<Value>,
    /// The schema rewritten for Anthropic, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anthropic: Option<Value>,
    /// What Gemini's `parameters` subset cannot express in this schema (open maps, arbitrary
    /// JSON values, recursive types), when something: Gemini then receives the standard schema
    /// ([`ToolDialect::Anthropic`]) as `parametersJsonSchema` instead of `parameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemini_limitation: Option<String>,
}

impl ToolSpec {
    /// A tool from its name, description and JSON Schema (used as-is in every dialect).
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            parameters,
            openai_strict: None,
            gemini: None,
            anthropic: None,
            gemini_limitation: None,
        }
    }

    /// The parameter schema in `dialect`.
    pub fn parameters_for(&self, dialect: ToolDialect) -> &Value {
        let specific = match dialect {
            ToolDialect::OpenAiStrict => self.openai_strict.as_ref(),
            ToolDialect::Gemini => self.gemini.as_ref(),
            ToolDialect::Anthropic => self.anthropic.as_ref(),
            // `OpenAi`, and any dialect `blazen` adds later: the parameters as written.
            _ => None,
        };
        specific.unwrap_or(&self.parameters)
    }

    /// A tool whose schema `render` gives in each dialect: the strict OpenAI rendering is kept
    /// only when strict mode can express the schema.
    fn rendered(
        name: String,
        description: String,
        render: impl Fn(ToolDialect) -> blazen::tool::RenderedSchema,
    ) -> Self {
        let strict = render(ToolDialect::OpenAiStrict);
        let gemini = render(ToolDialect::Gemini);
        ToolSpec {
            name,
            description,
            parameters: render(ToolDialect::OpenAi).schema,
            openai_strict: strict.strict.then_some(strict.schema),
            gemini: Some(gemini.schema),
            anthropic: Some(render(ToolDialect::Anthropic).schema),
            gemini_limitation: gemini.limitation,
        }
    }
}

impl From<&blazen::tool::ToolDef> for ToolSpec {
    /// Renders the definition's parameters in every dialect once, so any provider can send it.
    /// The strict OpenAI schema is kept only when strict mode can express the parameters.
    fn from(def: &blazen::tool::ToolDef) -> Self {
        ToolSpec::rendered(def.name.clone(), def.description.clone(), |dialect| {
            def.render(dialect)
        })
    }
}

impl<T> From<&blazen::OutputSchema<T>> for ToolSpec {
    /// The schema of a typed answer, rendered in every dialect; its description is the type's
    /// doc comment.
    fn from(schema: &blazen::OutputSchema<T>) -> Self {
        ToolSpec::rendered(
            schema.name().to_owned(),
            schema.description().unwrap_or_default().to_owned(),
            |dialect| schema.render(dialect),
        )
    }
}

impl From<blazen::tool::ToolDef> for ToolSpec {
    fn from(def: blazen::tool::ToolDef) -> Self {
        ToolSpec::from(&def)
    }
}

/// Everything one completion call sends: messages, sampling, tools and output format.
///
/// Requests are `Clone` so middleware can replay them, and serializable so the cache can key on
/// them.
///
/// ```
/// use blazen_providers::{ChatMessage, CompletionRequest, ToolChoice};
/// let req = CompletionRequest::new(vec![ChatMessage::user("Hi")])
///     .temperature(0.2)
///     .max_tokens(256)
///     .model("gpt-4.1-mini")
///     .tool_choice(ToolChoice::Auto);
/// assert_eq!(req.max_tokens, Some(256));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// A model to use instead of the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Maximum tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Which tool the model may or must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// The shape of the answer (JSON, JSON Schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Whether the model may call several tools in one turn (provider default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
}

impl CompletionRequest {
    /// A request for `messages` with every option at the provider's default.
    pub fn new(messages: impl Into<Vec<ChatMessage>>) -> Self {
        CompletionRequest {
            messages: messages.into(),
            ..CompletionRequest::default()
        }
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets nucleus sampling.
    pub fn top_p(mut self, top_p: f32) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets the maximum number of tokens to generate.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Uses `model` instead of the model's default.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the stop sequences.
    pub fn stop(mut self, stop: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }

    /// Offers tools to the model (`blazen` `ToolDef`s or [`ToolSpec`]s).
    pub fn tools<T: Into<ToolSpec>>(mut self, tools: impl IntoIterator<Item = T>) -> Self {
        self.tools = tools.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one tool.
    pub fn tool(mut self, tool: impl Into<ToolSpec>) -> Self {
        self.tools.push(tool.into());
        self
    }

    /// Sets which tool the model may or must call.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Sets the answer's format (e.g. [`ResponseFormat::json_schema`]).
    pub fn response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    /// The request for a server without structured output: a schema of the response format
    /// moves into the prompt (a system message after the leading ones) and the format becomes
    /// plain JSON mode ([`ResponseFormat::JsonObject`]). Other requests are returned unchanged.
    ///
    /// The built-in providers apply it where needed (DeepSeek); a [`Provider`](crate::Provider)
    /// of your own can call it when its server has JSON mode only.
    ///
    /// ```
    /// use blazen_providers::{ChatMessage, CompletionRequest, ResponseFormat, Role};
    /// use serde_json::json;
    /// let req = CompletionRequest::new(vec![ChatMessage::system("Be brief."), ChatMessage::user("Hi")])
    ///     .response_format(ResponseFormat::json_schema("greeting", json!({"type": "object"})))
    ///     .schema_in_prompt();
    /// assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
    /// assert_eq!(req.messages[1].role, Role::System);
    /// assert!(req.messages[1].text_content().unwrap().contains(r#"{"type":"object"}"#));
    /// ```
    pub fn schema_in_prompt(mut self) -> Self {
        let Some(format) = &self.response_format else {
            return self;
        };
        let Some((schema, _)) = format.schema_for(ToolDialect::OpenAi) else {
            return self;
        };
        let description = match format {
            ResponseFormat::Structured(spec) if !spec.description.is_empty() => {
                format!(" ({})", spec.description)
            }
            _ => String::new(),
        };
        let text = format!(
            "Answer with only a JSON value{description}, no other text, that follows this JSON \
             Schema:\n{schema}"
        );
        let at = self
            .messages
            .iter()
            .take_while(|m| m.role == super::Role::System)
            .count();
        self.messages.insert(at, ChatMessage::system(text));
        self.response_format = Some(ResponseFormat::JsonObject);
        self
    }

    /// Allows or forbids several tool calls in one turn.
    pub fn parallel_tool_calls(mut self, allowed: bool) -> Self {
        self.parallel_tool_calls = Some(allowed);
        self
    }

    /// Checks the request before anything is sent: at least one message, a finite
    /// `temperature >= 0`, a finite `top_p` within `[0, 1]` and `max_tokens >= 1` (when set).
    /// A violation is a [`BlazenError::Validation`] (not retryable) in the seed's wording,
    /// e.g. `invalid input: temperature must be >= 0 (got -0.5)`.
    ///
    /// [`CompletionModel`](crate::CompletionModel) calls this before every `complete*` and
    /// `stream*` call, so a bad value costs no round trip (and a NaN is not silently sent as
    /// `null`). Upper bounds that differ between providers (OpenAI's temperature up to 2,
    /// Anthropic's up to 1) are left to the provider.
    ///
    /// ```
    /// use blazen_providers::{ChatMessage, CompletionRequest};
    /// let ok = CompletionRequest::new(vec![ChatMessage::user("Hi")]).temperature(0.7);
    /// assert!(ok.validate().is_ok());
    ///
    /// let bad = ok.clone().temperature(-0.5);
    /// let err = bad.validate().unwrap_err();
    /// assert!(err.to_string().starts_with("invalid input: temperature must be >= 0"));
    /// assert!(!err.is_retryable());
    ///
    /// assert!(ok.clone().top_p(1.5).validate().is_err());
    /// assert!(ok.clone().max_tokens(0).validate().is_err());
    /// assert!(CompletionRequest::new(vec![]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), BlazenError> {
        if self.messages.is_empty() {
            return Err(BlazenError::validation(
                "messages must not be empty (send at least one message)",
            ));
        }
        if let Some(t) = self.temperature {
            if !t.is_finite() {
                return Err(BlazenError::validation(format!(
                    "temperature must be a finite number (got {t})"
                )));
            }
            if t < 0.0 {
                return Err(BlazenError::validation(format!(
                    "temperature must be >= 0 (got {t})"
                )));
            }
        }
        if let Some(p) = self.top_p {
            if !(0.0..=1.0).contains(&p) {
                // NaN is not in the range either.
                return Err(BlazenError::validation(format!(
                    "top_p must be between 0 and 1 (got {p})"
                )));
            }
        }
        if self.max_tokens == Some(0) {
            return Err(BlazenError::validation("max_tokens must be >= 1 (got 0)"));
        }
        Ok(())
    }
}
