//! Messages: [`ChatMessage`] with its [`Role`], multimodal [`ContentPart`]s and their
//! [`MediaType`], and the [`ToolCall`]s an assistant message carries.

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
    /// An assistant message's own content blocks as its provider sent them, when they hold
    /// what `content` and `tool_calls` cannot carry back (Anthropic's signed thinking blocks,
    /// server tool blocks): that provider gets them back verbatim instead of `content` and
    /// `tool_calls`; other providers ignore them. Set by
    /// [`CompletionResponse::to_message`](crate::CompletionResponse::to_message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_content: Option<serde_json::Value>,
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
