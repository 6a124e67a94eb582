//! [`ToolDef`]: a tool's name, description, parameter schema and handler.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;
use serde::Serialize;
use serde_json::{Map, Value};

use super::dialect::{self, RenderedSchema, SchemaDialect, StrictUnsupported};
use super::error::{ArgumentError, ToolError};

/// The future a tool handler returns (and, boxed, what [`ToolHandler::call`] gives).
pub type ToolFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;

type DynHandler = Arc<dyn Fn(Value) -> ToolFuture + Send + Sync>;

/// A tool an LLM can call: a name, a description, a JSON Schema for its arguments and the code
/// that runs when the model calls it.
///
/// `#[tool]` builds one from an annotated function (`my_fn::tool()`); [`ToolDef::new`] builds one
/// by hand. Cloning is cheap (the handler is shared).
///
/// ```
/// use blazen::prelude::*;
/// use blazen::{SchemaDialect, ToolDef};
///
/// /// Add two numbers.
/// #[tool]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let def: ToolDef = add::tool();
/// assert_eq!(def.name, "add");
/// assert_eq!(def.description, "Add two numbers.");
/// assert_eq!(def.call(json!({"a": 2, "b": 3})).await.unwrap(), json!(5));
/// let gemini = def.parameters_for(SchemaDialect::Gemini);
/// assert_eq!(gemini["properties"]["a"], json!({"type": "integer", "format": "int64"}));
/// # }
/// ```
#[derive(Clone)]
pub struct ToolDef {
    /// The name the model calls the tool by (letters, digits, `_` and `-` work everywhere).
    pub name: String,
    /// What the tool does: the model reads it to decide when to call the tool.
    pub description: String,
    /// The JSON Schema of the arguments object (standard JSON Schema, draft 2020-12). Render it
    /// for a provider with [`ToolDef::parameters_for`].
    pub parameters: Value,
    handler: DynHandler,
    /// True when the handler validates the argument object itself (macro-generated tools), so
    /// `call` must not check it a second time.
    handler_checks_args: bool,
}

impl fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

impl ToolDef {
    /// Builds a tool by hand from a JSON Schema and a handler.
    ///
    /// The handler receives the arguments object as a [`Value`] and may be synchronous
    /// (`|args: Value| -> R`) or asynchronous (`|args: Value| async move { .. }`); `R` is a
    /// [`Value`] or a `Result<T, E>` with `T: Serialize` and `E: Display` (see
    /// [`IntoToolResult`]). The closure's argument needs its type written (`args: Value`).
    ///
    /// Before the handler runs, [`ToolDef::call`] checks the arguments against the top level of
    /// `parameters`: they must be an object, every `required` property must be present, and
    /// when `additionalProperties` is `false` no other key may appear. A `null` for a property
    /// that is not required counts as absent (OpenAI strict mode sends `null` for optional
    /// arguments), and is removed before the handler sees the arguments.
    ///
    /// ```
    /// use blazen::ToolDef;
    /// use serde_json::{json, Value};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // Synchronous handler.
    /// let search = ToolDef::new(
    ///     "search",
    ///     "Search the web for a query",
    ///     json!({
    ///         "type": "object",
    ///         "properties": { "query": { "type": "string", "description": "Search query" } },
    ///         "required": ["query"],
    ///     }),
    ///     |_args: Value| json!({ "results": ["result1", "result2"] }),
    /// );
    ///
    /// // Asynchronous handler returning a `Result`.
    /// let weather = ToolDef::new(
    ///     "weather",
    ///     "Get current weather for a city",
    ///     json!({ "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] }),
    ///     |args: Value| async move {
    ///         let city = args["city"].as_str().unwrap_or_default().to_owned();
    ///         Ok::<_, String>(json!({ "city": city, "temperature": 21 }))
    ///     },
    /// );
    /// assert_eq!(search.call(json!({"query": "rust"})).await.unwrap()["results"][0], "result1");
    /// assert_eq!(weather.call(json!({"city": "Paris"})).await.unwrap()["temperature"], 21);
    /// assert!(weather.call(json!({})).await.unwrap_err().to_string().contains("`city`"));
    /// # }
    /// ```
    pub fn new<M, H>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: H,
    ) -> Self
    where
        H: ToolHandler<M>,
    {
        ToolDef {
            name: name.into(),
            description: description.into(),
            parameters,
            handler: Arc::new(move |args| handler.call(args)),
            handler_checks_args: false,
        }
    }

    /// Used by `#[tool]`: the generated handler decodes and checks the arguments itself.
    pub(crate) fn from_checked_handler(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: DynHandler,
    ) -> Self {
        ToolDef {
            name: name.into(),
            description: description.into(),
            parameters,
            handler,
            handler_checks_args: true,
        }
    }

    /// Runs the tool with the arguments a model sent.
    ///
    /// `null` arguments count as `{}`, and a string holding a JSON object is parsed. Bad
    /// arguments give [`ToolError::InvalidArguments`] naming each argument at fault; a handler
    /// that panics gives [`ToolError::Panicked`]; neither panics nor hangs the caller. The
    /// returned future is `Send + 'static`, so it can be spawned.
    ///
    /// ```
    /// # use blazen::prelude::*;
    /// /// Greet someone.
    /// #[tool]
    /// fn greet(name: String) -> String {
    ///     format!("Hello, {name}!")
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let def = greet::tool();
    /// assert_eq!(def.call(json!({"name": "Ada"})).await.unwrap(), json!("Hello, Ada!"));
    /// let err = def.call(json!({"name": 7})).await.unwrap_err();
    /// assert_eq!(err.arguments(), vec!["name"]);
    /// # }
    /// ```
    pub fn call(
        &self,
        args: Value,
    ) -> impl Future<Output = Result<Value, ToolError>> + Send + 'static {
        let prepared = normalize_arguments(args).and_then(|args| {
            if self.handler_checks_args {
                Ok(Value::Object(args))
            } else {
                check_top_level(&self.parameters, args)
            }
        });
        let handler = Arc::clone(&self.handler);
        async move {
            let args = prepared?;
            let future = catch_unwind(AssertUnwindSafe(|| handler(args))).map_err(panicked)?;
            AssertUnwindSafe(future)
                .catch_unwind()
                .await
                .unwrap_or_else(|payload| Err(panicked(payload)))
        }
    }

    /// The parameter schema rendered for a provider family (see [`SchemaDialect`]).
    ///
    /// For [`SchemaDialect::OpenAiStrict`] this is the strict schema when strict mode can express
    /// the parameters, and otherwise the plain OpenAI schema: use [`ToolDef::render`] or
    /// [`ToolDef::strict_schema`] to know which (and send `strict: true` only for the former).
    /// For [`SchemaDialect::Gemini`] a tool without parameters renders as `null`: send no
    /// `parameters` field then.
    ///
    /// ```
    /// # use blazen::prelude::*;
    /// # use blazen::SchemaDialect;
    /// /// Look up a word.
    /// #[tool]
    /// fn define(word: String, language: Option<String>) -> String {
    ///     format!("{word} {language:?}")
    /// }
    ///
    /// # fn main() {
    /// let strict = define::tool().parameters_for(SchemaDialect::OpenAiStrict);
    /// assert_eq!(strict["required"], json!(["word", "language"]));
    /// assert_eq!(strict["properties"]["language"]["type"], json!(["string", "null"]));
    /// # }
    /// ```
    pub fn parameters_for(&self, dialect: SchemaDialect) -> Value {
        self.render(dialect).schema
    }

    /// The parameter schema rendered for a provider family, with whether OpenAI strict mode
    /// could be kept and what the dialect could not express.
    ///
    /// ```
    /// # use blazen::prelude::*;
    /// # use blazen::SchemaDialect;
    /// # use std::collections::HashMap;
    /// /// Store labels.
    /// #[tool]
    /// fn label(labels: HashMap<String, String>) -> usize {
    ///     labels.len()
    /// }
    ///
    /// # fn main() {
    /// let rendered = label::tool().render(SchemaDialect::OpenAiStrict);
    /// assert!(!rendered.strict);
    /// assert!(rendered.limitation.unwrap().contains("labels"));
    /// # }
    /// ```
    pub fn render(&self, dialect: SchemaDialect) -> RenderedSchema {
        dialect::render(&self.parameters, dialect)
    }

    /// The OpenAI strict-mode schema, or why strict mode cannot express the parameters (open
    /// maps, arbitrary JSON values, tuples…): then send [`SchemaDialect::OpenAi`]'s schema with
    /// `strict: false`.
    ///
    /// ```
    /// # use blazen::prelude::*;
    /// /// Add.
    /// #[tool]
    /// fn add(a: i32, b: i32) -> i32 {
    ///     a + b
    /// }
    ///
    /// # fn main() {
    /// let schema = add::tool().strict_schema().unwrap();
    /// assert_eq!(schema["additionalProperties"], json!(false));
    /// # }
    /// ```
    pub fn strict_schema(&self) -> Result<Value, StrictUnsupported> {
        dialect::strict(&self.parameters)
    }
}

/// Accepts `null` as "no arguments" and a string holding a JSON object as that object.
fn normalize_arguments(args: Value) -> Result<Map<String, Value>, ToolError> {
    let args = match args {
        Value::Null => Value::Object(Map::new()),
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(_) | Err(_) if text.trim().is_empty() => Value::Object(Map::new()),
            Ok(_) | Err(_) => Value::String(text),
        },
        other => other,
    };
    match args {
        Value::Object(map) => Ok(map),
        other => Err(not_an_object(&other)),
    }
}

/// The error for arguments (or an answer) that are not a JSON object.
pub(super) fn not_an_object(value: &Value) -> ToolError {
    ToolError::InvalidArguments {
        problems: vec![ArgumentError::not_an_object(json_kind(value))],
    }
}

/// What a JSON value is, in words (`a string`, `an array`), for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks required and unknown keys against the schema's top level; drops `null`s of optional
/// properties.
fn check_top_level(schema: &Value, mut args: Map<String, Value>) -> Result<Value, ToolError> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = dialect::names(schema.get("required")).collect();
    args.retain(|key, value| !value.is_null() || required.contains(&key.as_str()));
    let mut problems = Vec::new();
    for name in &required {
        if !args.contains_key(*name) {
            problems.push(ArgumentError::missing(*name));
        }
    }
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        let expected: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for key in args.keys() {
            if !expected.contains(&key.as_str()) {
                problems.push(ArgumentError::unknown(key, &expected));
            }
        }
    }
    if problems.is_empty() {
        Ok(Value::Object(args))
    } else {
        Err(ToolError::InvalidArguments { problems })
    }
}

pub(crate) fn panicked(payload: Box<dyn Any + Send>) -> ToolError {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    };
    ToolError::Panicked { message }
}

/// Marker for handlers that return a future (see [`ToolHandler`]).
#[derive(Debug)]
pub enum AsyncHandler {}

/// Marker for handlers that return their result directly (see [`ToolHandler`]).
#[derive(Debug)]
pub enum SyncHandler {}

/// A function that can handle a tool call: `Fn(Value) -> R` (synchronous) or
/// `Fn(Value) -> impl Future<Output = R>` (asynchronous), where `R: IntoToolResult`.
///
/// `M` is [`SyncHandler`] or [`AsyncHandler`]; the compiler infers it, so callers never name it.
/// Synchronous handlers run inline on the task that calls [`ToolDef::call`]: keep them quick,
/// or make them asynchronous and use `tokio::task::spawn_blocking`.
///
/// ```
/// use blazen::tool::ToolHandler;
/// use serde_json::{json, Value};
///
/// fn takes_handler<M>(_handler: impl ToolHandler<M>) {}
///
/// takes_handler(|args: Value| args);                                  // sync, a `Value`
/// takes_handler(|_: Value| Ok::<_, String>(vec![1, 2]));              // sync, a `Result`
/// takes_handler(|args: Value| async move { Ok::<_, String>(args) });  // async
/// # let _ = json!(null);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot handle tool calls",
    label = "expected a closure `|args: Value| ...` returning a `Value` or a `Result<T: Serialize, E: Display>`, or a future of one",
    note = "write the argument's type: `|args: serde_json::Value| ...`"
)]
pub trait ToolHandler<M>: Send + Sync + 'static {
    /// Starts handling one call.
    fn call(&self, args: Value) -> ToolFuture;
}

impl<F, Fut> ToolHandler<AsyncHandler> for F
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoToolResult,
{
    fn call(&self, args: Value) -> ToolFuture {
        let future = self(args);
        Box::pin(async move { future.await.into_tool_result() })
    }
}

impl<F, R> ToolHandler<SyncHandler> for F
where
    F: Fn(Value) -> R + Send + Sync + 'static,
    R: IntoToolResult,
{
    fn call(&self, args: Value) -> ToolFuture {
        let result = self(args).into_tool_result();
        Box::pin(std::future::ready(result))
    }
}

/// What a tool handler may return: a [`Value`], or a `Result<T, E>` whose `T` is `Serialize`
/// and whose `E` is `Display` (a [`ToolError`] is passed through as is).
///
/// ```
/// use blazen::{IntoToolResult, ToolError};
/// use serde_json::json;
///
/// assert_eq!(Ok::<_, String>(vec![1, 2]).into_tool_result().unwrap(), json!([1, 2]));
/// let err = Err::<(), _>("not found").into_tool_result().unwrap_err();
/// assert_eq!(err, ToolError::new("not found"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a tool handler can return",
    label = "return a `serde_json::Value` or a `Result<T: Serialize, E: Display>`"
)]
pub trait IntoToolResult {
    /// Converts into the JSON result of the call.
    fn into_tool_result(self) -> Result<Value, ToolError>;
}

impl IntoToolResult for Value {
    fn into_tool_result(self) -> Result<Value, ToolError> {
        Ok(self)
    }
}

impl<T, E> IntoToolResult for Result<T, E>
where
    T: Serialize,
    E: fmt::Display + 'static,
{
    fn into_tool_result(self) -> Result<Value, ToolError> {
        match self {
            Ok(value) => to_json(&value),
            Err(error) => Err(into_tool_error(error)),
        }
    }
}

/// Serializes a tool's output.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, ToolError> {
    serde_json::to_value(value).map_err(|e| ToolError::Output {
        message: e.to_string(),
    })
}

/// Converts a tool's error: a [`ToolError`] stays itself, anything else becomes
/// [`ToolError::Failed`] with its `Display` text.
pub(crate) fn into_tool_error<E: fmt::Display + 'static>(error: E) -> ToolError {
    let message = error.to_string();
    let boxed: Box<dyn Any> = Box::new(error);
    match boxed.downcast::<ToolError>() {
        Ok(tool_error) => *tool_error,
        Err(_) => ToolError::Failed { message },
    }
}
