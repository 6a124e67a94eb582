//! Rendering a tool's parameter schema for each provider family.
//!
//! The canonical schema ([`ToolDef::parameters`](crate::ToolDef::parameters)) is standard JSON
//! Schema (draft 2020-12) with an object at the root; providers accept different subsets of it.

use std::fmt;

use serde_json::{json, Map, Value};

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

// ---------------------------------------------------------------------------------------------
// Standard JSON Schema (OpenAI non-strict, Anthropic).

/// The canonical schema with an object root that has `type` and `properties`, without
/// `$schema`/`$id`, and `{}` in place of `true` subschemas.
fn standard(schema: &Value) -> Value {
    let mut root = match schema {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    replace_true_schemas(&mut root);
    if let Value::Object(map) = &mut root {
        map.remove("$schema");
        map.remove("$id");
        map.entry("type").or_insert_with(|| json!("object"));
        map.entry("properties").or_insert_with(|| json!({}));
    }
    root
}

/// The keywords whose values are one subschema, a list of them, or a map of them.
const SINGLE_SUBSCHEMA: &[&str] = &[
    "additionalProperties",
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
const SUBSCHEMA_LISTS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];
const SUBSCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

fn replace_true_schemas(node: &mut Value) {
    let Value::Object(map) = node else { return };
    for (key, value) in map.iter_mut() {
        let key = key.as_str();
        if SINGLE_SUBSCHEMA.contains(&key) {
            if *value == Value::Bool(true) && key != "additionalProperties" {
                *value = json!({});
            }
            replace_true_schemas(value);
        } else if SUBSCHEMA_LISTS.contains(&key) {
            if let Value::Array(items) = value {
                for item in items {
                    if *item == Value::Bool(true) {
                        *item = json!({});
                    }
                    replace_true_schemas(item);
                }
            }
        } else if SUBSCHEMA_MAPS.contains(&key) {
            if let Value::Object(children) = value {
                for child in children.values_mut() {
                    if *child == Value::Bool(true) {
                        *child = json!({});
                    }
                    replace_true_schemas(child);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAI strict mode.

/// String formats strict mode accepts.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Keywords strict mode refuses but whose removal keeps the schema correct enough (hints and
/// constraints the tool's own decoding still enforces).
const STRICT_DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "default",
    "examples",
    "example",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentEncoding",
    "contentMediaType",
    "minLength",
    "maxLength",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "nullable",
];

/// Keywords strict mode cannot express at all.
const STRICT_FATAL: &[(&str, &str)] = &[
    ("prefixItems", "is a tuple"),
    ("not", "uses `not`"),
    ("if", "uses `if`/`then`/`else`"),
    ("patternProperties", "uses `patternProperties`"),
    ("propertyNames", "uses `propertyNames`"),
    ("dependentRequired", "uses `dependentRequired`"),
    ("dependentSchemas", "uses `dependentSchemas`"),
    ("unevaluatedProperties", "uses `unevaluatedProperties`"),
    ("unevaluatedItems", "uses `unevaluatedItems`"),
    ("contains", "uses `contains`"),
];

pub(crate) fn strict(schema: &Value) -> Result<Value, StrictUnsupported> {
    let mut root = standard(schema);
    let mut problems = Vec::new();
    strict_node(&mut root, &Path::root(), &mut problems);
    if let Value::Object(map) = &mut root {
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = map.get_mut(key) {
                for (name, def) in defs.iter_mut() {
                    strict_node(def, &Path::definition(name), &mut problems);
                }
            }
        }
        if map.get("type") != Some(&json!("object")) {
            problems.push("the arguments are not a single object".to_owned());
        }
    }
    problems.dedup();
    match join(problems) {
        None => Ok(root),
        Some(reason) => Err(StrictUnsupported { reason }),
    }
}

fn is_object_schema(map: &Map<String, Value>) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => map.contains_key("properties"),
    }
}

fn is_array_schema(map: &Map<String, Value>) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(types)) => types.iter().any(|t| t == "array"),
        _ => false,
    }
}

/// Whether a schema has any constraint on the value's shape.
fn constrains_shape(map: &Map<String, Value>) -> bool {
    [
        "type",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "properties",
        "items",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
}

fn strict_node(node: &mut Value, path: &Path, problems: &mut Vec<String>) {
    let Value::Object(map) = node else {
        if *node == Value::Bool(true) {
            problems.push(format!("{path} accepts any JSON value"));
        }
        return;
    };
    if let Some(reference) = map.remove("$ref") {
        // Strict mode allows nothing beside `$ref`: a description moves to a one-branch
        // `anyOf` around it; other keywords are dropped.
        let description = map.remove("description");
        map.clear();
        match description {
            Some(description) => {
                map.insert("anyOf".to_owned(), json!([{ "$ref": reference }]));
                map.insert("description".to_owned(), description);
            }
            None => {
                map.insert("$ref".to_owned(), reference);
            }
        }
        return;
    }
    for (key, what) in STRICT_FATAL {
        if map.contains_key(*key) {
            problems.push(format!("{path} {what}"));
        }
    }
    for key in STRICT_DROPPED {
        map.remove(*key);
    }
    if let Some(Value::String(format)) = map.get("format") {
        if !STRICT_FORMATS.contains(&format.as_str()) {
            map.remove("format");
        }
    }
    if let Some(one_of) = map.remove("oneOf") {
        if map.contains_key("anyOf") {
            problems.push(format!("{path} combines `oneOf` and `anyOf`"));
        } else {
            map.insert("anyOf".to_owned(), one_of);
        }
    }
    merge_single_all_of(map, path, problems);
    if let Some(constant) = map.remove("const") {
        map.insert("enum".to_owned(), Value::Array(vec![constant]));
    }
    if !constrains_shape(map) {
        problems.push(format!("{path} accepts any JSON value"));
        return;
    }
    if is_object_schema(map) {
        match map.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => problems.push(format!(
                "{path} is a map with arbitrary keys (`additionalProperties`)"
            )),
        }
        if !map.contains_key("properties") {
            if !map.contains_key("additionalProperties") {
                problems.push(format!("{path} is an object with arbitrary keys"));
            }
            map.insert("properties".to_owned(), json!({}));
        }
        map.insert("additionalProperties".to_owned(), Value::Bool(false));
        let required: Vec<String> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        // The required properties first, in their order, then the optional ones.
        let mut all: Vec<Value> = Vec::new();
        if let Some(Value::Object(properties)) = map.get_mut("properties") {
            for name in &required {
                if properties.contains_key(name) {
                    all.push(Value::String(name.clone()));
                }
            }
            let mut optional = Vec::new();
            for (name, property) in properties.iter_mut() {
                strict_node(property, &path.property(name), problems);
                if !required.contains(name) {
                    make_nullable(property);
                    optional.push(name.clone());
                }
            }
            // Sorted, so the order does not depend on the map's (serde_json's `preserve_order`).
            optional.sort_unstable();
            all.extend(optional.into_iter().map(Value::String));
        }
        map.insert("required".to_owned(), Value::Array(all));
    }
    if let Some(items) = map.get_mut("items") {
        if items.is_array() {
            problems.push(format!("{path} is a tuple"));
        } else {
            strict_node(items, &path.items(), problems);
        }
    } else if is_array_schema(map) {
        problems.push(format!("{path} is an array of arbitrary JSON values"));
    }
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        for branch in branches {
            strict_node(branch, path, problems);
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

fn accepts_null(node: &Value) -> bool {
    let Value::Object(map) = node else {
        return *node == Value::Bool(true);
    };
    let null = json!("null");
    match map.get("type") {
        Some(Value::String(t)) if t == "null" => return true,
        Some(Value::Array(types)) if types.contains(&null) => return true,
        _ => {}
    }
    if let Some(Value::Array(branches)) = map.get("anyOf") {
        if branches.iter().any(accepts_null) {
            return true;
        }
    }
    !constrains_shape(map)
}

/// Makes a required-in-strict-mode property accept `null` (meaning "absent").
fn make_nullable(node: &mut Value) {
    if accepts_null(node) {
        return;
    }
    let Value::Object(map) = node else { return };
    let add_null_to_enum = |map: &mut Map<String, Value>| {
        if let Some(Value::Array(values)) = map.get_mut("enum") {
            if !values.contains(&Value::Null) {
                values.push(Value::Null);
            }
        }
    };
    match map.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            map.insert("type".to_owned(), json!([t, "null"]));
            add_null_to_enum(map);
            return;
        }
        Some(Value::Array(types)) => {
            types.push(json!("null"));
            add_null_to_enum(map);
            return;
        }
        _ => {}
    }
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        branches.push(json!({"type": "null"}));
        return;
    }
    let description = map.remove("description");
    let inner = std::mem::take(map);
    map.insert(
        "anyOf".to_owned(),
        json!([Value::Object(inner), {"type": "null"}]),
    );
    if let Some(description) = description {
        map.insert("description".to_owned(), description);
    }
}

// ---------------------------------------------------------------------------------------------
// Gemini.

/// The keywords Gemini's `parameters` schema accepts (everything else is removed).
const GEMINI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "items",
    "minimum",
    "maximum",
];

struct Gemini<'a> {
    definitions: Map<String, Value>,
    stack: Vec<String>,
    problems: &'a mut Vec<String>,
}

fn gemini(schema: &Value) -> (Value, Vec<String>) {
    let root = standard(schema);
    let mut definitions = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = root.get(key) {
            for (name, def) in defs {
                definitions.insert(format!("#/{key}/{name}"), def.clone());
            }
        }
    }
    let mut problems = Vec::new();
    let mut state = Gemini {
        definitions,
        stack: Vec::new(),
        problems: &mut problems,
    };
    let converted = state
        .convert(&root, &Path::root())
        .unwrap_or_else(|| json!({}));
    let empty = converted
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if converted.get("type") != Some(&json!("object")) {
        problems.push("the arguments are not a single object".to_owned());
    }
    problems.dedup();
    if empty {
        (Value::Null, problems)
    } else {
        (converted, problems)
    }
}

impl Gemini<'_> {
    /// Converts one subschema; `None` drops the property it describes (recursion cut).
    fn convert(&mut self, node: &Value, path: &Path) -> Option<Value> {
        let Value::Object(source) = node else {
            self.problems.push(format!("{path} accepts any JSON value"));
            return Some(json!({}));
        };
        let mut map = source.clone();
        if let Some(Value::String(reference)) = map.remove("$ref") {
            let Some(target) = self.definitions.get(&reference).cloned() else {
                self.problems.push(format!(
                    "{path} refers to `{reference}`, which is not defined"
                ));
                return Some(json!({}));
            };
            if self.stack.contains(&reference) {
                self.problems.push(format!(
                    "{path} is recursive, which Gemini's `parameters` cannot express (left out)"
                ));
                return None;
            }
            let Value::Object(target) = target else {
                return Some(json!({}));
            };
            // The use site's keywords (its description) win over the definition's.
            let mut merged = target;
            for (key, value) in map {
                merged.insert(key, value);
            }
            self.stack.push(reference);
            let converted = self.convert(&Value::Object(merged), path);
            self.stack.pop();
            return converted;
        }
        let mut nullable = map.remove("nullable") == Some(Value::Bool(true));
        if let Some(one_of) = map.remove("oneOf") {
            map.entry("anyOf").or_insert(one_of);
        }
        let mut ignored = Vec::new();
        merge_single_all_of(&mut map, path, &mut ignored);
        if !ignored.is_empty() {
            self.problems
                .push(format!("{path} uses `allOf`, which Gemini cannot express"));
        }
        if let Some(constant) = map.remove("const") {
            map.insert("enum".to_owned(), Value::Array(vec![constant]));
        }

        // One `type` per schema, `null` as `nullable`.
        match map.remove("type") {
            Some(Value::Array(types)) => {
                let mut rest: Vec<Value> = Vec::new();
                for t in types {
                    if t == "null" {
                        nullable = true;
                    } else {
                        rest.push(t);
                    }
                }
                match rest.len() {
                    0 => {}
                    1 => {
                        map.insert("type".to_owned(), rest.remove(0));
                    }
                    _ => {
                        let branches = rest.into_iter().map(|t| json!({ "type": t })).collect();
                        map.insert("anyOf".to_owned(), Value::Array(branches));
                    }
                }
            }
            Some(Value::String(t)) if t == "null" => nullable = true,
            Some(t) => {
                map.insert("type".to_owned(), t);
            }
            None => {}
        }

        // anyOf: null branches become `nullable`; a single remaining branch is merged in.
        if let Some(Value::Array(branches)) = map.remove("anyOf") {
            let mut kept = Vec::new();
            for branch in &branches {
                if branch.get("type") == Some(&json!("null")) {
                    nullable = true;
                    continue;
                }
                if let Some(converted) = self.convert(branch, path) {
                    kept.push(converted);
                }
            }
            if kept.len() == 1 {
                if let Some(Value::Object(only)) = kept.pop() {
                    for (key, value) in only {
                        if key == "nullable" {
                            nullable |= value == Value::Bool(true);
                        } else if key != "description" || !map.contains_key("description") {
                            map.insert(key, value);
                        }
                    }
                }
            } else if !kept.is_empty() {
                map.insert("anyOf".to_owned(), Value::Array(kept));
            }
        }

        // Enums: strings only, `null` as `nullable`; numbers keep their range, booleans
        // their type.
        if let Some(Value::Array(values)) = map.remove("enum") {
            let mut strings = Vec::new();
            let mut numbers = Vec::new();
            let mut booleans = false;
            for value in values {
                match value {
                    Value::Null => nullable = true,
                    Value::String(_) => strings.push(value),
                    Value::Number(n) => numbers.push(n),
                    Value::Bool(_) => booleans = true,
                    Value::Array(_) | Value::Object(_) => {}
                }
            }
            if !strings.is_empty() && numbers.is_empty() && !booleans {
                map.entry("type").or_insert_with(|| json!("string"));
                map.insert("enum".to_owned(), Value::Array(strings));
            } else if !numbers.is_empty() && strings.is_empty() && !booleans {
                let integers = numbers.iter().all(|n| n.is_i64() || n.is_u64());
                map.entry("type")
                    .or_insert_with(|| json!(if integers { "integer" } else { "number" }));
                let mut sorted: Vec<(f64, serde_json::Number)> = numbers
                    .into_iter()
                    .filter_map(|n| n.as_f64().map(|f| (f, n)))
                    .collect();
                sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
                if let (Some(low), Some(high)) = (sorted.first(), sorted.last()) {
                    map.entry("minimum").or_insert(Value::Number(low.1.clone()));
                    map.entry("maximum")
                        .or_insert(Value::Number(high.1.clone()));
                }
            } else if booleans && strings.is_empty() && numbers.is_empty() {
                map.entry("type").or_insert_with(|| json!("boolean"));
            }
        }

        let kind = map.get("type").and_then(Value::as_str).map(str::to_owned);
        if kind.is_none() && !map.contains_key("anyOf") {
            if map.contains_key("properties") {
                map.insert("type".to_owned(), json!("object"));
            } else if map.contains_key("items") || map.contains_key("prefixItems") {
                map.insert("type".to_owned(), json!("array"));
            } else {
                self.problems.push(format!(
                    "{path} accepts any JSON value, which Gemini's `parameters` cannot express"
                ));
            }
        }
        let kind = map.get("type").and_then(Value::as_str).map(str::to_owned);

        // Formats Gemini knows, per type.
        if let Some(Value::String(format)) = map.get("format") {
            let allowed: &[&str] = match kind.as_deref() {
                Some("string") => &["enum", "date-time"],
                Some("integer") => &["int32", "int64"],
                Some("number") => &["float", "double"],
                _ => &[],
            };
            if !allowed.contains(&format.as_str()) {
                map.remove("format");
            }
        }

        // Exclusive bounds: exact for integers, the closed bound otherwise.
        for (exclusive, inclusive, step) in [
            ("exclusiveMinimum", "minimum", 1),
            ("exclusiveMaximum", "maximum", -1),
        ] {
            if let Some(bound) = map.remove(exclusive) {
                let bound = match (kind.as_deref(), bound.as_f64()) {
                    (Some("integer"), Some(b)) if b.fract() == 0.0 => {
                        json!(b as i64 + step)
                    }
                    _ => bound,
                };
                map.entry(inclusive).or_insert(bound);
            }
        }

        // Arrays: one `items` schema.
        if let Some(Value::Array(prefix)) = map.remove("prefixItems") {
            let mut branches: Vec<Value> = Vec::new();
            for item in &prefix {
                if let Some(converted) = self.convert(item, &path.items()) {
                    if !branches.contains(&converted) {
                        branches.push(converted);
                    }
                }
            }
            let items = if branches.len() == 1 {
                branches.remove(0)
            } else {
                json!({ "anyOf": branches })
            };
            map.insert("items".to_owned(), items);
        } else if let Some(items) = map.remove("items") {
            // An array of a type that was left out is left out too.
            let converted = self.convert(&items, &path.items())?;
            map.insert("items".to_owned(), converted);
        } else if kind.as_deref() == Some("array") {
            self.problems.push(format!(
                "{path} is an array of arbitrary JSON values, which Gemini's `parameters` cannot express"
            ));
        }

        // Objects: properties converted, `required` limited to them.
        if kind.as_deref() == Some("object") {
            let mut properties = Map::new();
            if let Some(Value::Object(source)) = map.remove("properties") {
                for (name, property) in &source {
                    if let Some(converted) = self.convert(property, &path.property(name)) {
                        properties.insert(name.clone(), converted);
                    }
                }
            }
            if properties.is_empty() && !path.0.is_empty() {
                self.problems.push(format!(
                    "{path} is an object with arbitrary keys, which Gemini's `parameters` cannot express"
                ));
            }
            let required: Vec<Value> = map
                .remove("required")
                .and_then(|r| r.as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.as_str().is_some_and(|r| properties.contains_key(r)))
                .collect();
            if !properties.is_empty() {
                map.insert("properties".to_owned(), Value::Object(properties));
            }
            if !required.is_empty() {
                map.insert("required".to_owned(), Value::Array(required));
            }
        } else {
            map.remove("properties");
            map.remove("required");
        }

        map.retain(|key, _| GEMINI_KEYWORDS.contains(&key.as_str()));
        if nullable {
            map.insert("nullable".to_owned(), Value::Bool(true));
        }
        Some(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(properties: Value, required: Value) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    #[test]
    fn strict_wraps_optional_refs_and_unions_in_any_of_with_null() {
        let schema = json!({
            "type": "object",
            "properties": {
                "p": {"$ref": "#/$defs/P", "description": "A p."},
                "u": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "e": {"enum": ["a", "b"]}
            },
            "$defs": {"P": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}}
        });
        let strict = strict(&schema).unwrap();
        assert_eq!(
            strict["properties"]["p"],
            json!({"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}], "description": "A p."})
        );
        assert_eq!(
            strict["properties"]["u"],
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]})
        );
        assert_eq!(
            strict["properties"]["e"],
            json!({"anyOf": [{"enum": ["a", "b"]}, {"type": "null"}]})
        );
        assert_eq!(strict["required"], json!(["e", "p", "u"]));
    }

    #[test]
    fn strict_refuses_what_it_cannot_express_and_names_it() {
        let cases = [
            (
                json!({"t": {"type": "array", "prefixItems": [{"type": "string"}]}}),
                "argument `t` is a tuple",
            ),
            (
                json!({"n": {"not": {"type": "string"}}}),
                "argument `n` uses `not`",
            ),
            (
                json!({"o": {"type": "object"}}),
                "argument `o` is an object with arbitrary keys",
            ),
            (
                json!({"a": {"allOf": [{"type": "string"}, {"minLength": 1}]}}),
                "argument `a` uses `allOf`",
            ),
            (
                json!({"l": {"type": "array", "items": {"type": "object", "additionalProperties": true}}}),
                "argument `l[]` is a map with arbitrary keys",
            ),
            (
                json!({"v": {"type": "array"}}),
                "argument `v` is an array of arbitrary JSON values",
            ),
        ];
        for (properties, reason) in cases {
            let err = strict(&object(properties, json!([]))).unwrap_err();
            assert!(
                err.reason.contains(reason),
                "{} does not contain {reason}",
                err.reason
            );
        }
        assert!(strict(&json!({"type": "array", "items": {"type": "string"}})).is_err());
    }

    #[test]
    fn strict_merges_a_single_all_of() {
        let schema = object(
            json!({"a": {"allOf": [{"type": "string"}], "description": "d"}}),
            json!(["a"]),
        );
        assert_eq!(
            strict(&schema).unwrap()["properties"]["a"],
            json!({"type": "string", "description": "d"})
        );
    }

    #[test]
    fn gemini_splits_type_lists_and_converts_bounds() {
        let schema = object(
            json!({
                "n": {"type": ["integer", "string", "null"]},
                "i": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10, "format": "uint32"},
                "f": {"type": "number", "exclusiveMinimum": 0.5},
                "t": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}]},
                "k": {"type": "integer", "enum": [1, 2]},
                "c": {"const": 3}
            }),
            json!(["i", "gone"]),
        );
        let (gemini, problems) = gemini(&schema);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            gemini,
            json!({
                "type": "object",
                "properties": {
                    "n": {"anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": true},
                    "i": {"type": "integer", "minimum": 1, "maximum": 9},
                    "f": {"type": "number", "minimum": 0.5},
                    "t": {"type": "array", "items": {"type": "string"}},
                    "k": {"type": "integer", "minimum": 1, "maximum": 2},
                    "c": {"type": "integer", "minimum": 3, "maximum": 3}
                },
                "required": ["i"]
            })
        );
    }

    #[test]
    fn gemini_reports_arrays_without_items() {
        let schema = object(json!({"v": {"type": "array"}}), json!([]));
        let (_, problems) = gemini(&schema);
        assert_eq!(
            problems,
            vec!["argument `v` is an array of arbitrary JSON values, which Gemini's `parameters` cannot express".to_owned()]
        );
    }

    #[test]
    fn gemini_reports_undefined_refs() {
        let schema = object(json!({"x": {"$ref": "#/$defs/Missing"}}), json!([]));
        let (_, problems) = gemini(&schema);
        assert_eq!(
            problems,
            vec!["argument `x` refers to `#/$defs/Missing`, which is not defined".to_owned()]
        );
    }

    #[test]
    fn standard_gives_every_root_an_object_with_properties() {
        assert_eq!(
            standard(&Value::Null),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            standard(&json!({"$schema": "x", "properties": {"a": true}})),
            json!({"type": "object", "properties": {"a": {}}})
        );
    }
}
