//! OpenAI strict mode: [`SchemaDialect::OpenAiStrict`](super::SchemaDialect::OpenAiStrict).

use serde_json::{json, Map, Value};

use super::standard::standard;
use super::{join, merge_single_all_of, names, Path, StrictUnsupported};

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
        let required: Vec<String> = names(map.get("required")).map(str::to_owned).collect();
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
