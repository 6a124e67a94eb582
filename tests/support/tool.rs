//! The rules each schema dialect must follow, checked over rendered tool schemas.
//!
//! `check_tool` renders a tool in every dialect and asserts each dialect's rules; the golden
//! tests in `tests/tool_schema.rs` fix the exact JSON.

use blazen::{RenderedSchema, SchemaDialect, ToolDef};
use serde_json::{json, Map, Value};

/// Every dialect.
pub(crate) const DIALECTS: [SchemaDialect; 4] = [
    SchemaDialect::OpenAiStrict,
    SchemaDialect::OpenAi,
    SchemaDialect::Gemini,
    SchemaDialect::Anthropic,
];

/// Renders `def` in every dialect and checks each dialect's rules; returns whether OpenAI
/// strict mode was kept.
pub(crate) fn check_tool(def: &ToolDef) -> bool {
    let mut strict = false;
    for dialect in DIALECTS {
        let rendered = def.render(dialect);
        check(dialect, &rendered);
        assert_eq!(def.parameters_for(dialect), rendered.schema);
        if dialect == SchemaDialect::OpenAiStrict {
            assert_eq!(def.strict_schema().is_ok(), rendered.strict, "{}", def.name);
            strict = rendered.strict;
        }
    }
    strict
}

fn walk<'a>(node: &'a Value, path: String, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(&path, node);
    let Value::Object(map) = node else { return };
    for (key, value) in map {
        match (key.as_str(), value) {
            (
                "properties" | "$defs" | "definitions" | "patternProperties",
                Value::Object(children),
            ) => {
                for (name, child) in children {
                    walk(child, format!("{path}/{key}/{name}"), visit);
                }
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(children)) => {
                for (i, child) in children.iter().enumerate() {
                    walk(child, format!("{path}/{key}/{i}"), visit);
                }
            }
            ("additionalProperties", Value::Bool(_)) => {}
            ("items" | "additionalProperties" | "not", child) => {
                walk(child, format!("{path}/{key}"), visit)
            }
            _ => {}
        }
    }
}

fn keys(map: &Map<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

/// Every object closed with all its properties required, nothing beside `$ref`, no keyword
/// strict mode refuses, an object root.
pub(crate) fn check_openai_strict(schema: &Value) {
    assert_eq!(schema["type"], "object", "strict root: {schema}");
    walk(schema, String::new(), &mut |path, node| {
        let Value::Object(map) = node else {
            panic!("strict: boolean schema at {path}: {schema}")
        };
        if map.contains_key("$ref") {
            assert_eq!(
                keys(map),
                vec!["$ref"],
                "strict: siblings beside $ref at {path}"
            );
        }
        for refused in [
            "oneOf",
            "allOf",
            "not",
            "default",
            "title",
            "examples",
            "const",
            "minLength",
            "maxLength",
            "patternProperties",
            "prefixItems",
            "$schema",
            "nullable",
        ] {
            assert!(
                !map.contains_key(refused),
                "strict: `{refused}` at {path}: {schema}"
            );
        }
        if let Some(Value::String(format)) = map.get("format") {
            assert!(
                [
                    "date-time",
                    "time",
                    "date",
                    "duration",
                    "email",
                    "hostname",
                    "ipv4",
                    "ipv6",
                    "uuid"
                ]
                .contains(&format.as_str()),
                "strict: format `{format}` at {path}"
            );
        }
        let is_object = map.get("type") == Some(&json!("object"))
            || map
                .get("type")
                .and_then(Value::as_array)
                .is_some_and(|t| t.contains(&json!("object")));
        if is_object {
            assert_eq!(
                map.get("additionalProperties"),
                Some(&json!(false)),
                "strict: open object at {path}"
            );
            let properties = map["properties"].as_object().expect("strict: properties");
            let mut required: Vec<&str> = map["required"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            required.sort_unstable();
            assert_eq!(
                required,
                keys(properties),
                "strict: not all required at {path}"
            );
        }
        let shaped = ["type", "enum", "anyOf", "$ref"]
            .iter()
            .any(|k| map.contains_key(*k));
        assert!(shaped, "strict: unconstrained schema at {path}: {schema}");
    });
}

/// Gemini's OpenAPI subset: self-contained, one type per schema, only the keywords its
/// `parameters` field accepts, string enums, objects with properties.
pub(crate) fn check_gemini(schema: &Value, exact: bool) {
    if schema.is_null() {
        return;
    }
    assert_eq!(schema["type"], "object", "gemini root: {schema}");
    let allowed = [
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
    walk(schema, String::new(), &mut |path, node| {
        let Value::Object(map) = node else {
            panic!("gemini: boolean schema at {path}")
        };
        for key in map.keys() {
            assert!(
                allowed.contains(&key.as_str()),
                "gemini: `{key}` at {path}: {schema}"
            );
        }
        if let Some(t) = map.get("type") {
            let t = t
                .as_str()
                .unwrap_or_else(|| panic!("gemini: type list at {path}"));
            assert!(
                ["string", "number", "integer", "boolean", "array", "object"].contains(&t),
                "gemini: type `{t}` at {path}"
            );
            if t != "object" {
                assert!(
                    !map.contains_key("properties") && !map.contains_key("required"),
                    "gemini: properties on {t} at {path}"
                );
            }
            if let Some(format) = map.get("format").and_then(Value::as_str) {
                let ok = match t {
                    "string" => ["enum", "date-time"].contains(&format),
                    "integer" => ["int32", "int64"].contains(&format),
                    "number" => ["float", "double"].contains(&format),
                    _ => false,
                };
                assert!(ok, "gemini: format `{format}` on {t} at {path}");
            }
            if t == "object" && exact {
                assert!(
                    map.get("properties")
                        .and_then(Value::as_object)
                        .is_some_and(|p| !p.is_empty()),
                    "gemini: object without properties at {path}"
                );
            }
            if t == "array" {
                assert!(
                    map.contains_key("items"),
                    "gemini: array without items at {path}"
                );
            }
        } else if exact {
            assert!(
                map.contains_key("anyOf"),
                "gemini: schema without type at {path}: {schema}"
            );
        }
        if let Some(values) = map.get("enum") {
            assert!(
                values.as_array().unwrap().iter().all(Value::is_string),
                "gemini: non-string enum at {path}"
            );
        }
        if let (Some(Value::Array(required)), Some(Value::Object(properties))) =
            (map.get("required"), map.get("properties"))
        {
            for name in required {
                assert!(
                    properties.contains_key(name.as_str().unwrap()),
                    "gemini: required `{name}` missing at {path}"
                );
            }
        }
    });
}

/// Standard JSON Schema with an object root that lists its properties.
pub(crate) fn check_standard(schema: &Value) {
    assert_eq!(schema["type"], "object", "root: {schema}");
    assert!(
        schema["properties"].is_object(),
        "root properties: {schema}"
    );
    assert!(schema.get("$schema").is_none());
    walk(schema, String::new(), &mut |path, node| {
        assert!(node.is_object(), "boolean schema at {path}: {schema}");
    });
}

pub(crate) fn check(dialect: SchemaDialect, rendered: &RenderedSchema) {
    match dialect {
        SchemaDialect::OpenAiStrict if rendered.strict => {
            assert_eq!(rendered.limitation, None);
            check_openai_strict(&rendered.schema);
        }
        SchemaDialect::OpenAiStrict => {
            assert!(rendered.limitation.is_some(), "a fallback says why");
            check_standard(&rendered.schema);
        }
        SchemaDialect::Gemini => check_gemini(&rendered.schema, rendered.limitation.is_none()),
        _ => {
            assert!(!rendered.strict);
            check_standard(&rendered.schema);
        }
    }
}
