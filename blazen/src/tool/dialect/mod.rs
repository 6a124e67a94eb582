//! Rendering a tool's parameter schema for each provider family.
//!
//! The canonical schema ([`ToolDef::parameters`](crate::ToolDef::parameters)) is standard JSON
//! Schema (draft 2020-12) with an object at the root; providers accept different subsets of it.

mod gemini;
mod standard;
mod strict;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::{Map, Value};

use gemini::gemini;
use standard::standard;
pub(crate) use strict::strict;

/// A provider family's flavour of JSON Schema for tool parameters.
///
/// ```
/// use blazen::{SchemaDialect, ToolDef};
/// use serde_json::{json, Value};
///
/// let def = ToolDef::new(
///     "echo",
///     "Echo a text.",
///     json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": []}),
///     |args: Value| args,
/// );
/// let strict = def.parameters_for(SchemaDialect::OpenAiStrict);
/// assert_eq!(strict["required"], json!(["text"]));
/// assert_eq!(strict["properties"]["text"]["type"], json!(["string", "null"]));
/// let gemini = def.parameters_for(SchemaDialect::Gemini);
/// assert_eq!(gemini["properties"]["text"], json!({"type": "string"}));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchemaDialect {
    /// OpenAI function calling with `strict: true` (also the Responses API and
    /// OpenAI-compatible servers that support strict mode). Every object has
    /// `additionalProperties: false` and lists all its properties in `required`; optional ones
    /// accept `null` instead; no keyword sits beside a `$ref`; keywords strict mode refuses
    /// (`default`, `title`, numeric `format`s, `minLength`…) are removed. Shapes it cannot
    /// express (maps with arbitrary keys, arbitrary JSON values, tuples, `not`…) fall back to
    /// [`SchemaDialect::OpenAi`] with the reason in [`RenderedSchema::limitation`].
    OpenAiStrict,
    /// OpenAI function calling without strict mode, and OpenAI-compatible servers: standard
    /// JSON Schema with an object root.
    OpenAi,
    /// Gemini's `functionDeclarations[].parameters` (an OpenAPI 3.0 subset): self-contained
    /// (`$ref`s inlined), one `type` per schema with `nullable: true` for optional values, only
    /// the keywords that field accepts (no `$schema`, `additionalProperties`, `const` — written
    /// as a one-value `enum` —, `exclusiveMinimum`, `title`, `$defs`…). A tool without
    /// parameters renders as `null`: send no `parameters` then. What the subset cannot express
    /// (maps with arbitrary keys, arbitrary JSON values, recursive types) is reported in
    /// [`RenderedSchema::limitation`]: send [`SchemaDialect::Anthropic`]'s standard schema as
    /// `parametersJsonSchema` instead.
    Gemini,
    /// Anthropic's `input_schema`: standard JSON Schema with an object root.
    Anthropic,
}

/// A parameter schema rendered for one [`SchemaDialect`].
///
/// ```
/// # use blazen::{SchemaDialect, ToolDef};
/// # use serde_json::{json, Value};
/// let def = ToolDef::new(
///     "tag",
///     "Tag things.",
///     json!({"type": "object", "properties": {"tags": {"type": "object", "additionalProperties": {"type": "string"}}}}),
///     |args: Value| args,
/// );
/// let rendered = def.render(SchemaDialect::OpenAiStrict);
/// assert!(!rendered.strict); // send `strict: false`
/// assert!(rendered.limitation.unwrap().contains("`tags`"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RenderedSchema {
    /// The schema to send (`null` for a Gemini tool without parameters).
    pub schema: Value,
    /// True when `schema` is an OpenAI strict-mode schema: send `strict: true` with it.
    pub strict: bool,
    /// What the dialect could not express, when something: the reason strict mode was dropped,
    /// or what Gemini's `parameters` cannot carry.
    pub limitation: Option<String>,
}

/// Why OpenAI strict mode cannot express a parameter schema.
///
/// ```
/// # use blazen::ToolDef;
/// # use serde_json::{json, Value};
/// let def = ToolDef::new("any", "Anything.", json!({"type": "object", "properties": {"x": {}}}), |a: Value| a);
/// let err = def.strict_schema().unwrap_err();
/// assert!(err.to_string().contains("argument `x` accepts any JSON value"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OpenAI strict mode cannot express these parameters: {reason}")]
#[non_exhaustive]
pub struct StrictUnsupported {
    /// What strict mode cannot express, naming the argument.
    pub reason: String,
}

pub(crate) fn render(schema: &Value, dialect: SchemaDialect) -> RenderedSchema {
    match dialect {
        SchemaDialect::OpenAi | SchemaDialect::Anthropic => RenderedSchema {
            schema: standard(schema),
            strict: false,
            limitation: None,
        },
        SchemaDialect::OpenAiStrict => match strict(schema) {
            Ok(schema) => RenderedSchema {
                schema,
                strict: true,
                limitation: None,
            },
            Err(unsupported) => RenderedSchema {
                schema: standard(schema),
                strict: false,
                limitation: Some(unsupported.reason),
            },
        },
        SchemaDialect::Gemini => {
            let (schema, problems) = gemini(schema);
            RenderedSchema {
                schema,
                strict: false,
                limitation: join(problems),
            }
        }
    }
}

/// The names in an object schema's `required` list (`schema.get("required")`; none when it
/// has none).
pub(crate) fn names(required: Option<&Value>) -> impl Iterator<Item = &str> {
    required
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn join(problems: Vec<String>) -> Option<String> {
    if problems.is_empty() {
        None
    } else {
        Some(problems.join("; "))
    }
}

/// Where a subschema sits, in the user's words: `argument `address.zip``.
#[derive(Clone)]
struct Path(String);

impl Path {
    fn root() -> Self {
        Path(String::new())
    }
    fn property(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Path(name.to_owned())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }
    fn items(&self) -> Self {
        Path(format!("{}[]", self.0))
    }
    fn definition(name: &str) -> Self {
        Path(format!("<type {name}>"))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the arguments object")
        } else {
            write!(f, "argument `{}`", self.0)
        }
    }
}

fn merge_single_all_of(map: &mut Map<String, Value>, path: &Path, problems: &mut Vec<String>) {
    match map.remove("allOf") {
        Some(Value::Array(mut parts)) if parts.len() == 1 => {
            if let Some(Value::Object(part)) = parts.pop() {
                for (key, value) in part {
                    map.entry(key).or_insert(value);
                }
            }
        }
        Some(_) => problems.push(format!("{path} uses `allOf`")),
        None => {}
    }
}
