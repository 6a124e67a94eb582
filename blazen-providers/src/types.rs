//! Provider-independent request and response types.
//!
//! Every type here is `serde`-serializable, so responses can be stored, cached and logged, and
//! conversations can be checkpointed. The wire formats of the providers live in their own modules
//! and convert from and to these types.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::BlazenError;

/// The author of a [`ChatMessage`].
///
/// ```
/// use blazen_providers::Role;
/// assert_eq!(Role::Assistant.as_str(), "assistant");
/// assert_eq!(serde_json::to_string(&Role::Tool).unwrap(), "\"tool\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// A message from the user (the default, as in the seed).
    #[default]
    User,
    /// A message from the model, possibly with tool calls.
    Assistant,
    /// The result of a tool call, linked to it by `tool_call_id`.
    Tool,
}

impl Role {
    /// The role as the lowercase string providers use (`"system"`, `"user"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = BlazenError;

    /// Reads a role from its name: `"system"`, `"user"`, `"assistant"` or `"tool"`, in any
    /// ASCII case, surrounding whitespace ignored. Anything else is a
    /// [`BlazenError::Validation`] (`invalid input: unknown role ...`).
    ///
    /// ```
    /// use blazen_providers::Role;
    /// assert_eq!("user".parse::<Role>().unwrap(), Role::User);
    /// assert_eq!(" Assistant ".parse::<Role>().unwrap(), Role::Assistant);
    /// assert_eq!(Role::try_from("tool").unwrap(), Role::Tool);
    /// let err = "robot".parse::<Role>().unwrap_err();
    /// assert!(err.to_string().starts_with("invalid input: unknown role \"robot\""));
    /// // Round trip through the name.
    /// assert_eq!(Role::System.as_str().parse::<Role>().unwrap(), Role::System);
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        [Role::System, Role::User, Role::Assistant, Role::Tool]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let shown: String = name.chars().take(64).collect();
                BlazenError::validation(format!(
                    "unknown role {shown:?} (expected system, user, assistant or tool)"
                ))
            })
    }
}

impl TryFrom<&str> for Role {
    type Error = BlazenError;

    /// The same as `s.parse::<Role>()`.
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A MIME type, with constants for every type the seed lists.
///
/// Any other MIME type can be built with [`MediaType::new`].
///
/// ```
/// use blazen_providers::MediaType;
/// assert_eq!(MediaType::PNG.as_str(), "image/png");
/// assert_eq!(MediaType::new("image/x-icon").as_str(), "image/x-icon");
/// assert!(MediaType::JPEG.is_image());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaType(Cow<'static, str>);

impl MediaType {
    /// `image/png`
    pub const PNG: MediaType = MediaType(Cow::Borrowed("image/png"));
    /// `image/jpeg`
    pub const JPEG: MediaType = MediaType(Cow::Borrowed("image/jpeg"));
    /// `image/webp`
    pub const WEBP: MediaType = MediaType(Cow::Borrowed("image/webp"));
    /// `image/gif`
    pub const GIF: MediaType = MediaType(Cow::Borrowed("image/gif"));
    /// `image/svg+xml`
    pub const SVG: MediaType = MediaType(Cow::Borrowed("image/svg+xml"));
    /// `image/bmp`
    pub const BMP: MediaType = MediaType(Cow::Borrowed("image/bmp"));
    /// `image/tiff`
    pub const TIFF: MediaType = MediaType(Cow::Borrowed("image/tiff"));
    /// `image/avif`
    pub const AVIF: MediaType = MediaType(Cow::Borrowed("image/avif"));
    /// `video/mp4`
    pub const MP4: MediaType = MediaType(Cow::Borrowed("video/mp4"));
    /// `video/webm`
    pub const WEBM: MediaType = MediaType(Cow::Borrowed("video/webm"));
    /// `video/quicktime`
    pub const MOV: MediaType = MediaType(Cow::Borrowed("video/quicktime"));
    /// `audio/mpeg`
    pub const MP3: MediaType = MediaType(Cow::Borrowed("audio/mpeg"));
    /// `audio/wav`
    pub const WAV: MediaType = MediaType(Cow::Borrowed("audio/wav"));
    /// `audio/ogg`
    pub const OGG: MediaType = MediaType(Cow::Borrowed("audio/ogg"));
    /// `audio/flac`
    pub const FLAC: MediaType = MediaType(Cow::Borrowed("audio/flac"));
    /// `audio/aac`
    pub const AAC: MediaType = MediaType(Cow::Borrowed("audio/aac"));
    /// `audio/m4a`
    pub const M4A: MediaType = MediaType(Cow::Borrowed("audio/m4a"));
    /// `model/gltf-binary`
    pub const GLB: MediaType = MediaType(Cow::Borrowed("model/gltf-binary"));
    /// `model/gltf+json`
    pub const GLTF: MediaType = MediaType(Cow::Borrowed("model/gltf+json"));
    /// `model/obj`
    pub const OBJ: MediaType = MediaType(Cow::Borrowed("model/obj"));
    /// `model/vnd.usdz+zip`
    pub const USDZ: MediaType = MediaType(Cow::Borrowed("model/vnd.usdz+zip"));
    /// `model/fbx`
    pub const FBX: MediaType = MediaType(Cow::Borrowed("model/fbx"));
    /// `model/stl`
    pub const STL: MediaType = MediaType(Cow::Borrowed("model/stl"));
    /// `application/pdf`
    pub const PDF: MediaType = MediaType(Cow::Borrowed("application/pdf"));

    /// Any MIME type, e.g. `"image/x-icon"`.
    pub fn new(mime: impl Into<String>) -> Self {
        MediaType(Cow::Owned(mime.into()))
    }

    /// The MIME type as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an `image/*` type.
    pub fn is_image(&self) -> bool {
        self.0.starts_with("image/")
    }

    /// Whether this is an `audio/*` type.
    pub fn is_audio(&self) -> bool {
        self.0.starts_with("audio/")
    }

    /// Whether this is a `video/*` type.
    pub fn is_video(&self) -> bool {
        self.0.starts_with("video/")
    }
}

impl fmt::Debug for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaType({:?})", self.as_str())
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One part of a multimodal message.
///
/// ```
/// use blazen_providers::{ContentPart, MediaType};
/// let parts = vec![
///     ContentPart::text("What's in this image?"),
///     ContentPart::image_url("https://example.com/photo.jpg", MediaType::JPEG),
/// ];
/// assert_eq!(parts[0].as_text(), Some("What's in this image?"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentPart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image (or other file) the provider fetches from a URL.
    ImageUrl {
        /// The URL (`https:` or a `data:` URL).
        url: String,
        /// The MIME type, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<MediaType>,
    },
    /// An image sent inline, base64-encoded.
    ImageBase64 {
        /// The base64 data (no `data:` prefix).
        data: String,
        /// The MIME type of the decoded bytes.
        media_type: MediaType,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// An image given by URL, with its MIME type.
    pub fn image_url(url: impl Into<String>, media_type: MediaType) -> Self {
        ContentPart::ImageUrl {
            url: url.into(),
            media_type: Some(media_type),
        }
    }

    /// An inline base64 image with its MIME type.
    pub fn image_base64(data: impl Into<String>, media_type: MediaType) -> Self {
        ContentPart::ImageBase64 {
            data: data.into(),
            media_type,
        }
    }

    /// The text of a text part.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentPart::Text { text } => Some(text),
            _ => None,
        }
    }
}

/// One message of a conversation.
///
/// Plain messages carry `content`; multimodal user messages carry `parts`; an assistant message
/// may carry the `tool_calls` the model asked for, and a tool message answers one of them through
/// `tool_call_id`.
///
/// ```
/// use blazen_providers::{ChatMessage, Role, ToolCall};
/// use serde_json::json;
///
/// let history = vec![
///     ChatMessage::system("You are terse."),
///     ChatMessage::user("Weather in Paris?"),
///     ChatMessage::assistant_tool_calls(vec![ToolCall::new("call_1", "weather", json!({"city": "Paris"}))]),
///     ChatMessage::tool_result("call_1", "18°C, sunny"),
/// ];
/// assert_eq!(history[3].role, Role::Tool);
/// assert_eq!(history[3].tool_call_id.as_deref(), Some("call_1"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote the message.
    #[serde(default)]
    pub role: Role,
    /// The message text (for multimodal messages, see `parts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Multimodal content; when non-empty it is sent instead of `content`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ContentPart>,
    /// Tool calls requested by the model (assistant messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The tool call this message answers (tool messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// An optional participant or tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatMessage {
    /// A text message from `role` (the seed's `ChatMessage(role=..., content=...)`).
    ///
    /// With a role read from a string (stored conversations, configuration), parse it first:
    ///
    /// ```
    /// use blazen_providers::{ChatMessage, Role};
    /// let m = ChatMessage::new(Role::User, "Hello, world!");
    /// assert_eq!(m, ChatMessage::user("Hello, world!"));
    ///
    /// let stored = [("system", "Be brief."), ("user", "Hi")];
    /// let history = stored
    ///     .iter()
    ///     .map(|(role, text)| Ok(ChatMessage::new(role.parse()?, *text)))
    ///     .collect::<blazen_providers::Result<Vec<_>>>()?;
    /// assert_eq!(history[0].role, Role::System);
    /// # Ok::<(), blazen_providers::BlazenError>(())
    /// ```
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self::text(role, content)
    }

    fn text(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Some(content.into()),
            ..ChatMessage::default()
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::text(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::text(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text(Role::Assistant, content)
    }

    /// An assistant message that asks for tool calls (what the model answered, replayed in the
    /// history).
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            tool_calls,
            ..ChatMessage::default()
        }
    }

    /// A tool result message; link it to its call with [`ChatMessage::with_tool_call_id`], or use
    /// [`ChatMessage::tool_result`].
    pub fn tool(content: impl Into<String>) -> Self {
        Self::text(Role::Tool, content)
    }

    /// The result of the tool call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::tool(content).with_tool_call_id(tool_call_id)
    }

    /// A user message with text and an image URL.
    pub fn user_image_url(
        text: impl Into<String>,
        url: impl Into<String>,
        media_type: Option<MediaType>,
    ) -> Self {
        Self::user_parts(vec![
            ContentPart::text(text),
            ContentPart::ImageUrl {
                url: url.into(),
                media_type,
            },
        ])
    }

    /// A user message with text and an inline base64 image.
    pub fn user_image_base64(
        text: impl Into<String>,
        data: impl Into<String>,
        media_type: MediaType,
    ) -> Self {
        Self::user_parts(vec![
            ContentPart::text(text),
            ContentPart::image_base64(data, media_type),
        ])
    }

    /// A user message made of several parts.
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        ChatMessage {
            role: Role::User,
            parts,
            ..ChatMessage::default()
        }
    }

    /// Sets the tool call this message answers.
    pub fn with_tool_call_id(mut self, id: impl Into<String>) -> Self {
        self.tool_call_id = Some(id.into());
        self
    }

    /// Sets the participant or tool name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The message text: `content`, or the text parts joined.
    pub fn text_content(&self) -> Option<String> {
        if let Some(c) = &self.content {
            return Some(c.clone());
        }
        let texts: Vec<&str> = self.parts.iter().filter_map(ContentPart::as_text).collect();
        if texts.is_empty() {
            None
        } else {
            Some(texts.join("\n"))
        }
    }
}

/// A tool invocation requested by the model.
///
/// `arguments` holds the parsed JSON arguments. When the model produced arguments that are not
/// valid JSON, nothing panics: `arguments` holds the raw text as a JSON string and
/// `invalid_arguments` says why it did not parse, so the caller can report it back to the model.
///
/// ```
/// use blazen_providers::ToolCall;
/// let ok = ToolCall::from_raw("call_1", "weather", r#"{"city":"Paris"}"#);
/// assert_eq!(ok.arguments["city"], "Paris");
/// assert!(ok.invalid_arguments.is_none());
///
/// let bad = ToolCall::from_raw("call_2", "weather", r#"{"city": "Par"#);
/// assert_eq!(bad.arguments, serde_json::Value::String(r#"{"city": "Par"#.into()));
/// assert!(bad.invalid_arguments.is_some());
/// assert_eq!(bad.arguments_json(), r#"{"city": "Par"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for this call (tool results refer to it).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The parsed arguments (the raw text as a JSON string when they did not parse).
    pub arguments: Value,
    /// Why the model's arguments are not valid JSON, when they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_arguments: Option<String>,
    /// An opaque provider token to echo back with this call (Gemini's thought signature).
    /// Set by the provider that produced the call and sent back only to that provider family;
    /// the others ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl ToolCall {
    /// A tool call with already-parsed arguments.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
            invalid_arguments: None,
            signature: None,
        }
    }

    /// A tool call from the argument text a model produced. Empty text means no arguments
    /// (`{}`); text that is not JSON is kept raw and reported in `invalid_arguments`.
    pub fn from_raw(id: impl Into<String>, name: impl Into<String>, raw: &str) -> Self {
        let trimmed = raw.trim();
        let (arguments, invalid_arguments) = if trimmed.is_empty() {
            (Value::Object(serde_json::Map::new()), None)
        } else {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(v) => (v, None),
                Err(e) => (Value::String(raw.to_owned()), Some(e.to_string())),
            }
        };
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
            invalid_arguments,
            signature: None,
        }
    }

    /// This call carrying the provider's opaque `signature` (see [`ToolCall::signature`]).
    ///
    /// ```
    /// use blazen_providers::ToolCall;
    /// use serde_json::json;
    /// let call = ToolCall::new("fc_1", "weather", json!({})).with_signature("c2ln");
    /// assert_eq!(call.signature.as_deref(), Some("c2ln"));
    /// assert_eq!(call.id, "fc_1");
    /// ```
    pub fn with_signature(mut self, signature: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self
    }

    /// The arguments as JSON text, as the OpenAI wire format carries them (the raw text when the
    /// model's arguments did not parse).
    pub fn arguments_json(&self) -> String {
        match (&self.arguments, &self.invalid_arguments) {
            (Value::String(raw), Some(_)) => raw.clone(),
            (v, _) => v.to_string(),
        }
    }
}

/// Token usage of one completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens in the completion.
    pub completion_tokens: u64,
    /// Total tokens used.
    pub total_tokens: u64,
}

impl TokenUsage {
    /// Usage from prompt and completion counts (the total is their sum).
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        TokenUsage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
        }
    }
}

/// Timing of one request. `total_ms` is always measured by the client; `queue_ms` and
/// `execution_ms` are filled in when the provider reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestTiming {
    /// Time spent waiting in the provider's queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms: Option<u64>,
    /// Time spent executing the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_ms: Option<u64>,
    /// Total round-trip time, measured by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
}

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
}

/// The dialect a tool's parameter schema is written in for a given provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolDialect {
    /// OpenAI strict function calling.
    OpenAiStrict,
    /// OpenAI (and compatible) function calling.
    OpenAi,
    /// Gemini function declarations.
    Gemini,
    /// Anthropic tool input schemas.
    Anthropic,
}

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
            ToolDialect::OpenAi => None,
            ToolDialect::OpenAiStrict => self.openai_strict.as_ref(),
            ToolDialect::Gemini => self.gemini.as_ref(),
            ToolDialect::Anthropic => self.anthropic.as_ref(),
        };
        specific.unwrap_or(&self.parameters)
    }
}

impl From<&blazen::tool::ToolDef> for ToolSpec {
    /// Renders the definition's parameters in every dialect once, so any provider can send it.
    /// The strict OpenAI schema is kept only when strict mode can express the parameters.
    fn from(def: &blazen::tool::ToolDef) -> Self {
        use blazen::tool::SchemaDialect;
        let strict = def.render(SchemaDialect::OpenAiStrict);
        let gemini = def.render(SchemaDialect::Gemini);
        ToolSpec {
            name: def.name.clone(),
            description: def.description.clone(),
            parameters: def.parameters_for(SchemaDialect::OpenAi),
            openai_strict: strict.strict.then_some(strict.schema),
            gemini: Some(gemini.schema),
            anthropic: Some(def.parameters_for(SchemaDialect::Anthropic)),
            gemini_limitation: gemini.limitation,
        }
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

/// A media output of a completion (image, audio or video), provider-dependent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaOutput {
    /// Where to download it, when hosted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The content, base64-encoded, when inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// Its MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// Anything else the provider said about it.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub metadata: Value,
}

/// The answer to a completion request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CompletionResponse {
    /// The generated text.
    pub content: Option<String>,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// Why generation stopped (`"stop"`, `"length"`, `"tool_calls"`, `"content_filter"`, ...).
    pub finish_reason: Option<String>,
    /// Tool calls requested by the model.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Token usage.
    pub usage: Option<TokenUsage>,
    /// Estimated cost in USD (reported by the provider, or from the pricing table for known
    /// models; `None` otherwise).
    pub cost: Option<f64>,
    /// Timing of the request.
    pub timing: Option<RequestTiming>,
    /// Image outputs.
    #[serde(default)]
    pub images: Vec<MediaOutput>,
    /// Audio outputs.
    #[serde(default)]
    pub audio: Vec<MediaOutput>,
    /// Video outputs.
    #[serde(default)]
    pub videos: Vec<MediaOutput>,
    /// Reasoning text some models return beside the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The provider's request id, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl CompletionResponse {
    /// The assistant message to append to the history (content and tool calls).
    pub fn to_message(&self) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: self.content.clone(),
            tool_calls: self.tool_calls.clone(),
            ..ChatMessage::default()
        }
    }
}

/// One piece of a streamed completion.
///
/// Text arrives in `delta`. A tool call appears once, complete (all its argument fragments
/// joined), in the chunk where it finished. The last chunk carries `finish_reason` and, when the
/// provider reports them, `usage` and `cost`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamChunk {
    /// New text.
    pub delta: Option<String>,
    /// Set on the final chunk.
    pub finish_reason: Option<String>,
    /// Tool calls completed in this chunk.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Token usage, on the final chunk when the provider reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// New reasoning text, for models that stream it apart from the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The cost in USD the provider reported for the request (OpenRouter's `usage.cost`), on
    /// the final chunk; `stream_with` falls back to the pricing table without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl StreamChunk {
    /// A chunk of text.
    pub fn text(delta: impl Into<String>) -> Self {
        StreamChunk {
            delta: Some(delta.into()),
            ..StreamChunk::default()
        }
    }
}

/// Folds stream chunks into the [`CompletionResponse`] they add up to.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    pub(crate) response: CompletionResponse,
}

impl StreamAccumulator {
    pub(crate) fn push(&mut self, chunk: &StreamChunk) {
        let r = &mut self.response;
        if let Some(d) = &chunk.delta {
            r.content.get_or_insert_with(String::new).push_str(d);
        }
        if let Some(d) = &chunk.reasoning {
            r.reasoning.get_or_insert_with(String::new).push_str(d);
        }
        r.tool_calls.extend(chunk.tool_calls.iter().cloned());
        if chunk.finish_reason.is_some() {
            r.finish_reason.clone_from(&chunk.finish_reason);
        }
        if chunk.usage.is_some() {
            r.usage = chunk.usage;
        }
        if chunk.cost.is_some() {
            r.cost = chunk.cost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_type_serializes_as_string() {
        assert_eq!(
            serde_json::to_value(MediaType::GLB).unwrap(),
            json!("model/gltf-binary")
        );
        let back: MediaType = serde_json::from_value(json!("image/png")).unwrap();
        assert_eq!(back, MediaType::PNG);
    }

    #[test]
    fn message_round_trips() {
        let m = ChatMessage::user_image_base64("look", "aGVsbG8=", MediaType::PNG);
        let text = serde_json::to_string(&m).unwrap();
        let back: ChatMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(m, back);
        assert_eq!(back.text_content().as_deref(), Some("look"));
    }

    #[test]
    fn empty_arguments_mean_no_arguments() {
        let c = ToolCall::from_raw("1", "f", "");
        assert_eq!(c.arguments, json!({}));
        assert!(c.invalid_arguments.is_none());
    }

    #[test]
    fn accumulator_joins_chunks() {
        let mut acc = StreamAccumulator::default();
        acc.push(&StreamChunk::text("Hel"));
        acc.push(&StreamChunk::text("lo"));
        acc.push(&StreamChunk {
            finish_reason: Some("stop".into()),
            usage: Some(TokenUsage::new(3, 2)),
            ..StreamChunk::default()
        });
        assert_eq!(acc.response.content.as_deref(), Some("Hello"));
        assert_eq!(acc.response.usage.unwrap().total_tokens, 5);
    }
}
