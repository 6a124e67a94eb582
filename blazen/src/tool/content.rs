//! [`ToolContent`]: a tool result made of content blocks (text, images, audio, resources), in
//! MCP's shape, for tools whose answer is more than one JSON value.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One block of a [`ToolContent`] result, serialized as MCP's content blocks are
/// (`{"type": "image", "data": "<base64>", "mimeType": "image/png"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, base64-encoded.
    Image {
        /// The image's bytes in standard base64.
        data: String,
        /// Its media type, e.g. `image/png`.
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// Audio, base64-encoded.
    Audio {
        /// The audio's bytes in standard base64.
        data: String,
        /// Its media type, e.g. `audio/wav`.
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// A resource (a file, a document) embedded whole.
    Resource {
        /// The resource.
        resource: EmbeddedResource,
    },
    /// A link to a resource the receiver can fetch.
    ResourceLink {
        /// The resource's URI.
        uri: String,
        /// Its name.
        name: String,
        /// Its media type, when known.
        #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        /// What it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// The contents of an embedded resource: its URI, media type, and its text or its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddedResource {
    /// The resource's URI, e.g. `file:///report.md`.
    pub uri: String,
    /// Its media type, e.g. `text/markdown`.
    #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// A text resource's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A binary resource's bytes in standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text { text: text.into() }
    }

    /// An image block from its bytes (base64-encoded here) and media type.
    pub fn image(bytes: &[u8], mime_type: impl Into<String>) -> Self {
        Content::Image {
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
            mime_type: mime_type.into(),
        }
    }

    /// An audio block from its bytes (base64-encoded here) and media type.
    pub fn audio(bytes: &[u8], mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
            mime_type: mime_type.into(),
        }
    }

    /// An embedded text resource.
    pub fn resource_text(
        uri: impl Into<String>,
        mime_type: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Content::Resource {
            resource: EmbeddedResource {
                uri: uri.into(),
                mime_type: Some(mime_type.into()),
                text: Some(text.into()),
                blob: None,
            },
        }
    }

    /// An embedded binary resource (base64-encoded here).
    pub fn resource_blob(
        uri: impl Into<String>,
        mime_type: impl Into<String>,
        bytes: &[u8],
    ) -> Self {
        Content::Resource {
            resource: EmbeddedResource {
                uri: uri.into(),
                mime_type: Some(mime_type.into()),
                text: None,
                blob: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            },
        }
    }

    /// The block's text: a text block's text, an embedded text resource's text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Content::Text { text } => Some(text),
            Content::Resource { resource } => resource.text.as_deref(),
            _ => None,
        }
    }
}

/// A tool result made of content blocks, with an optional structured value: what a tool
/// returns when its answer is an image, audio, a document, or several of those.
///
/// It serializes as MCP's tool result does, `{"content": [...], "structuredContent": ...}`, so a
/// `#[tool]` function returns it like any other value and [`ToolDef::call`](crate::ToolDef::call)
/// gives that JSON. [`ToolContent::from_value`] recognizes it again: an object whose only keys
/// are `content` (an array of well-formed blocks) and `structuredContent`. blazen's MCP server
/// sends such a result as its blocks; blazen's MCP client gives a server's non-text results in
/// this shape; `blazen-providers`' agent sends the text to the model as the tool's answer and
/// the images as a message after it.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::tool::{Content, ToolContent};
///
/// /// Render a chart of the numbers.
/// #[tool]
/// fn chart(values: Vec<f64>) -> ToolContent {
///     let png: &[u8] = b"\x89PNG..."; // the rendered image
///     ToolContent::new(vec![
///         Content::text(format!("{} points", values.len())),
///         Content::image(png, "image/png"),
///     ])
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let value = chart::tool().call(json!({"values": [1.0, 2.0]})).await.unwrap();
/// assert_eq!(value["content"][1]["type"], "image");
/// assert_eq!(value["content"][1]["mimeType"], "image/png");
/// let back = ToolContent::from_value(&value).unwrap();
/// assert_eq!(back.text(), "2 points");
/// // An ordinary object is not taken for one.
/// assert!(ToolContent::from_value(&json!({"content": "a string"})).is_none());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ToolContent {
    /// The blocks, in order.
    pub content: Vec<Content>,
    /// The result as one JSON value too, for callers that read structured results.
    #[serde(
        rename = "structuredContent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub structured: Option<Value>,
}

impl ToolContent {
    /// A result of these blocks.
    pub fn new(content: Vec<Content>) -> Self {
        ToolContent {
            content,
            structured: None,
        }
    }

    /// Adds the result as one JSON value (MCP's `structuredContent`).
    pub fn with_structured(mut self, value: Value) -> Self {
        self.structured = Some(value);
        self
    }

    /// The tool result `value` as content blocks, when it has [`ToolContent`]'s shape.
    pub fn from_value(value: &Value) -> Option<Self> {
        let object = value.as_object()?;
        if !object.get("content")?.is_array() {
            return None;
        }
        // Deserialized from the borrowed tree: the value itself is not copied.
        ToolContent::deserialize(value).ok()
    }

    /// The text of the text blocks and embedded text resources, one per line.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.content.iter().filter_map(Content::as_text).collect();
        texts.join("\n")
    }
}
