//! Gemini's `parameters` subset: [`SchemaDialect::Gemini`](super::SchemaDialect::Gemini).

use serde_json::{json, Map, Value};

use super::standard::standard;
use super::{merge_single_all_of, Path};

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

/// The most subschemas an inlined Gemini schema may hold. Inlining `$ref`s copies each
/// definition at every use: a schema whose levels each refer to the next twice doubles with
/// every level (depth 20: a million subschemas, 80 MB). Past this, the schema is not inlined:
/// it goes as standard JSON Schema, `$defs` kept (`parametersJsonSchema`, which Gemini accepts).
pub(super) const MAX_INLINED_NODES: usize = 10_000;

struct Gemini<'a> {
    definitions: Map<String, Value>,
    stack: Vec<String>,
    problems: &'a mut Vec<String>,
    /// Subschemas that may still be converted before the inlined schema is too large.
    budget: usize,
}

pub(super) fn gemini(schema: &Value) -> (Value, Vec<String>) {
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
        budget: MAX_INLINED_NODES,
    };
    let converted = state
        .convert(&root, &Path::root())
        .unwrap_or_else(|| json!({}));
    if state.budget == 0 {
        // Too large to inline: no `parameters`; the limitation sends the standard schema.
        return (
            Value::Null,
            vec![format!(
                "the parameters hold more than {MAX_INLINED_NODES} subschemas once their `$ref`s \
                 are inlined, which Gemini's `parameters` cannot take (sent as JSON Schema with \
                 its `$defs`)"
            )],
        );
    }
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
        if self.budget == 0 {
            return None;
        }
        self.budget -= 1;
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
