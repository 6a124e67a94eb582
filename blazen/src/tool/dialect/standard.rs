//! Standard JSON Schema, for [`SchemaDialect::OpenAi`](super::SchemaDialect::OpenAi) and
//! [`SchemaDialect::Anthropic`](super::SchemaDialect::Anthropic), and the base of the others.

use serde_json::{json, Value};

/// The canonical schema with an object root that has `type` and `properties`, without
/// `$schema`/`$id`, and `{}` in place of `true` subschemas.
pub(super) fn standard(schema: &Value) -> Value {
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
