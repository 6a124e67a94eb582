//! [`OutputSchema`]: the JSON Schema a typed answer must follow, checked with the argument
//! validation of `#[tool]`.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::__private::ToolParam;
use super::args::{codec, Arguments, Codec, Param, Parameters};
use super::dialect::{self, RenderedSchema, SchemaDialect};
use super::error::ToolError;

/// The property that holds an answer whose type is not a struct (a list, an enum, a number):
/// providers want an object at the root of a structured answer.
pub const WRAPPED_PROPERTY: &str = "value";

/// The JSON Schema of a type `T` that a model must answer with, and the check of an answer
/// against it.
///
/// The schema is built as `#[tool]` builds a tool's parameters: a struct's fields are the
/// properties of the root object (unknown fields refused, `Option` fields optional); any other
/// type is wrapped in an object under the property `value`. [`OutputSchema::decode`] checks an
/// answer with the same validation a tool call's arguments get, so an error names each field
/// that is missing, unknown or of the wrong type, in words a model can act on.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::OutputSchema;
///
/// /// An invoice read from a document.
/// #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
/// struct Invoice {
///     /// The invoice number.
///     number: String,
///     total: f64,
///     note: Option<String>,
/// }
///
/// # fn main() {
/// let schema = OutputSchema::<Invoice>::new();
/// assert_eq!(schema.name(), "Invoice");
/// assert_eq!(schema.description(), Some("An invoice read from a document."));
/// assert_eq!(schema.schema()["required"], json!(["number", "total"]));
///
/// let ok = schema.decode(json!({"number": "A-1", "total": 12.5, "note": null})).unwrap();
/// assert_eq!(ok, Invoice { number: "A-1".into(), total: 12.5, note: None });
///
/// let err = schema.decode(json!({"number": "A-1", "total": "twelve"})).unwrap_err();
/// assert_eq!(err.arguments(), vec!["total"]);
///
/// // Strict mode keeps every field required, optional ones nullable.
/// let strict = schema.render(SchemaDialect::OpenAiStrict);
/// assert!(strict.strict);
/// assert_eq!(strict.schema["required"], json!(["number", "total", "note"]));
///
/// // A type that is not a struct is wrapped under `value`.
/// let list = OutputSchema::<Vec<String>>::new();
/// assert_eq!(list.schema()["required"], json!(["value"]));
/// assert_eq!(list.decode(json!({"value": ["a"]})).unwrap(), vec!["a".to_owned()]);
/// # }
/// ```
pub struct OutputSchema<T> {
    name: String,
    description: Option<String>,
    parameters: Parameters,
    codec: Codec<T>,
}

impl<T> fmt::Debug for OutputSchema<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputSchema")
            .field("name", &self.name)
            .field("schema", &self.parameters.schema)
            .finish()
    }
}

impl<T: DeserializeOwned + schemars::JsonSchema> Default for OutputSchema<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DeserializeOwned + schemars::JsonSchema> OutputSchema<T> {
    /// The schema of `T`, named after the type (`[a-zA-Z0-9_-]`, at most 64 characters).
    pub fn new() -> Self
    where
        T: ToolParam,
    {
        let codec = codec::<T>();
        let parameters = Parameters::build(&[Param::new(WRAPPED_PROPERTY, None, false, &codec)]);
        let root = schemars::SchemaGenerator::default().root_schema_for::<T>();
        let description = root
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        OutputSchema {
            name: schema_name(&T::schema_name()),
            description,
            parameters,
            codec,
        }
    }
}

impl<T> OutputSchema<T> {
    /// The schema's name: the type's name, with characters providers refuse replaced by `_`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type's doc comment, when it has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The JSON Schema of an answer (standard JSON Schema, draft 2020-12, an object at the
    /// root). Render it for a provider with [`OutputSchema::render`].
    pub fn schema(&self) -> &Value {
        &self.parameters.schema
    }

    /// Whether `T` is not a struct, so that an answer carries it under
    /// [`WRAPPED_PROPERTY`].
    pub fn is_wrapped(&self) -> bool {
        !self.parameters.flattened
    }

    /// The schema rendered for a provider family (the same rules as a tool's parameters).
    pub fn render(&self, dialect: SchemaDialect) -> RenderedSchema {
        dialect::render(&self.parameters.schema, dialect)
    }

    /// Checks an answer against the schema and decodes it.
    ///
    /// The error is a [`ToolError::InvalidArguments`] listing every problem with its field
    /// (`total`, `lines.0.price`), worded to be sent back to the model.
    pub fn decode(&self, answer: Value) -> Result<T, ToolError> {
        if !answer.is_object() {
            return Err(super::def::not_an_object(&answer));
        }
        let mut arguments = Arguments::new(answer, &self.parameters);
        let value = if self.parameters.flattened {
            arguments.take_all(&self.codec)
        } else {
            arguments.take(WRAPPED_PROPERTY, &self.codec)
        };
        arguments.finish()?;
        value.ok_or_else(super::__private::lost_argument)
    }
}

fn schema_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "answer".to_owned()
    } else {
        cleaned
    }
}
