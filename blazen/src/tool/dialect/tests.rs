//! The dialects on the schemas that exercise their corner cases.

use serde_json::{json, Value};

use super::gemini::gemini;
use super::standard::standard;
use super::strict;

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
