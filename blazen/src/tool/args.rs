//! Run-time support for `#[tool]`: the parameter schema built from the function's signature, and
//! the decoding of a call's arguments into the function's parameters.
//!
//! Not public API: the generated code reaches it through `blazen::__private::tool`.

use schemars::generate::SchemaSettings;
use schemars::transform::ReplaceBoolSchemas;
use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::__private::ToolParam;
use super::dialect::names;
use super::error::{ArgumentError, ToolError};

/// How to describe and decode one parameter type: built once per parameter, at the one place
/// where the type's traits are required (so a missing trait is reported once, at the type).
pub struct Codec<T> {
    schema: fn(&mut SchemaGenerator) -> Schema,
    decode: fn(Value) -> Result<T, serde_path_to_error::Error<serde_json::Error>>,
}

impl<T> std::fmt::Debug for Codec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::any::type_name::<T>())
    }
}

/// The codec of `T` (a free function, so a missing trait gets `ToolParam`'s message).
pub const fn codec<T: ToolParam>() -> Codec<T> {
    Codec {
        schema: |generator| generator.subschema_for::<T>(),
        decode: serde_path_to_error::deserialize::<Value, T>,
    }
}

/// One parameter of an annotated function.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The property name (the parameter's identifier).
    pub name: &'static str,
    /// The parameter's doc comment.
    pub description: Option<&'static str>,
    /// Whether the parameter may be left out (its type is written `Option<T>`).
    pub optional: bool,
    /// The schema of the parameter's type.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

impl Param {
    /// Describes a parameter.
    pub fn new<T>(
        name: &'static str,
        description: Option<&'static str>,
        optional: bool,
        codec: &Codec<T>,
    ) -> Self {
        Param {
            name,
            description,
            optional,
            schema: codec.schema,
        }
    }
}

/// The parameters of a tool, computed once per tool from its [`Param`]s.
#[derive(Debug, Clone)]
pub struct Parameters {
    /// The JSON Schema of the arguments object.
    pub schema: Value,
    /// The single parameter is an argument struct whose fields are the tool's arguments.
    pub flattened: bool,
    properties: Vec<String>,
    required: Vec<String>,
    closed: bool,
}

/// The generator every tool schema is built with: JSON Schema 2020-12, types inlined (only
/// recursive types stay in `$defs`), `true` schemas written `{}`.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = true;
        })
        .with_transform({
            let mut replace = ReplaceBoolSchemas::default();
            replace.skip_additional_properties = true;
            replace
        })
        .into_generator()
}

impl Parameters {
    /// Builds the schema of an annotated function's parameters.
    ///
    /// A function whose single parameter is a struct (an object schema with `properties`) takes
    /// that struct's fields as its arguments; otherwise each parameter is one property.
    pub fn build(params: &[Param]) -> Self {
        let mut generator = generator();
        // Each parameter's schema is generated exactly once.
        let mut schemas: Vec<Value> = params
            .iter()
            .map(|param| (param.schema)(&mut generator).to_value())
            .collect();
        let flattened = matches!(params, [single] if !single.optional)
            && schemas.first().is_some_and(is_struct_schema);
        let mut schema = if flattened {
            flatten_root(schemas.remove(0))
        } else {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for (param, mut property) in params.iter().zip(schemas) {
                if let (Some(doc), Value::Object(map)) = (param.description, &mut property) {
                    map.insert("description".to_owned(), Value::String(doc.to_owned()));
                }
                properties.insert(param.name.to_owned(), property);
                if !param.optional {
                    required.push(Value::String(param.name.to_owned()));
                }
            }
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            })
        };
        let definitions = generator.take_definitions(true);
        if let Value::Object(root) = &mut schema {
            if !definitions.is_empty() {
                root.insert("$defs".to_owned(), Value::Object(definitions));
            }
        }
        Self::from_schema(schema, flattened)
    }

    fn from_schema(schema: Value, flattened: bool) -> Self {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let required = names(schema.get("required")).map(str::to_owned).collect();
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        Parameters {
            schema,
            flattened,
            properties,
            required,
            closed,
        }
    }
}

fn is_struct_schema(schema: &Value) -> bool {
    schema.get("type") == Some(&Value::String("object".to_owned()))
        && schema.get("properties").is_some_and(Value::is_object)
}

/// An argument struct's schema as the root: its own title and description describe the type,
/// not the tool, and unknown keys are refused unless the struct takes extra keys.
fn flatten_root(mut schema: Value) -> Value {
    if let Value::Object(map) = &mut schema {
        map.remove("title");
        map.remove("description");
        map.entry("additionalProperties")
            .or_insert(Value::Bool(false));
        map.entry("required").or_insert_with(|| json!([]));
    }
    schema
}

/// The arguments of one call being decoded, collecting every problem.
#[derive(Debug)]
pub struct Arguments<'a> {
    map: Map<String, Value>,
    parameters: &'a Parameters,
    problems: Vec<ArgumentError>,
}

impl<'a> Arguments<'a> {
    /// Starts decoding `args` (an object, as `ToolDef::call` ensures): refuses unknown keys and
    /// treats `null` for an optional argument as absent.
    pub fn new(args: Value, parameters: &'a Parameters) -> Self {
        let mut map = match args {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => Map::new(),
        };
        let required = &parameters.required;
        map.retain(|key, value| !value.is_null() || required.iter().any(|r| r == key));
        let mut problems = Vec::new();
        if parameters.closed {
            let expected: Vec<&str> = parameters.properties.iter().map(String::as_str).collect();
            for key in map.keys() {
                if !parameters.properties.iter().any(|p| p == key) {
                    problems.push(ArgumentError::unknown(key, &expected));
                }
            }
        }
        if parameters.flattened {
            for name in required {
                if !map.contains_key(name) {
                    problems.push(ArgumentError::missing(name));
                }
            }
        }
        Arguments {
            map,
            parameters,
            problems,
        }
    }

    /// Decodes the argument `name`; `None` (and a recorded problem) when it is missing or
    /// does not decode.
    pub fn take<T>(&mut self, name: &'static str, codec: &Codec<T>) -> Option<T> {
        let value = match self.map.remove(name) {
            Some(value) => value,
            None if self.parameters.required.iter().any(|r| r == name) => {
                self.problems.push(ArgumentError::missing(name));
                return None;
            }
            None => Value::Null,
        };
        match (codec.decode)(value) {
            Ok(decoded) => Some(decoded),
            Err(error) => {
                let path = error.path().to_string();
                let argument = if path == "." {
                    name.to_owned()
                } else {
                    format!("{name}.{path}")
                };
                self.problems.push(ArgumentError::invalid(
                    argument,
                    error.into_inner().to_string(),
                ));
                None
            }
        }
    }

    /// Decodes all arguments into one argument struct.
    pub fn take_all<T>(&mut self, codec: &Codec<T>) -> Option<T> {
        if !self.problems.is_empty() {
            return None;
        }
        let value = Value::Object(std::mem::take(&mut self.map));
        match (codec.decode)(value) {
            Ok(decoded) => Some(decoded),
            Err(error) => {
                let path = error.path().to_string();
                let argument = if path == "." { String::new() } else { path };
                self.problems.push(ArgumentError::invalid(
                    argument,
                    error.into_inner().to_string(),
                ));
                None
            }
        }
    }

    /// Every problem found, as one error.
    pub fn finish(self) -> Result<(), ToolError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ToolError::InvalidArguments {
                problems: self.problems,
            })
        }
    }
}
