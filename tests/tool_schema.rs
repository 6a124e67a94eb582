//! Golden JSON Schemas of `#[tool]` signatures in every dialect, and a checker of each
//! dialect's rules run over every schema this file produces.

#[path = "support/tool.rs"]
mod rules;

use std::collections::HashMap;

use blazen::prelude::*;
use blazen::{SchemaDialect, ToolDef};
use serde_json::Value;

// ---- Tools.

/// A temperature unit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
}

/// Get the current weather for a city.
#[tool]
async fn weather(
    /// The city name.
    city: String,
    unit: Option<Unit>,
) -> Result<String, ToolError> {
    Ok(format!("{city} {unit:?}"))
}

/// Search arguments.
#[allow(dead_code)] // Only the schema and the decoding of this type are under test.
#[derive(Debug, Deserialize, JsonSchema)]
struct SearchArgs {
    /// What to look for.
    query: String,
    /// How many results.
    #[schemars(range(min = 1, max = 50))]
    limit: Option<u32>,
    #[serde(default)]
    tags: Vec<String>,
    #[schemars(email)]
    contact: Option<String>,
}

/// Search the web.
#[tool]
fn search(args: SearchArgs) -> Vec<String> {
    vec![format!("{args:?}")]
}

#[allow(dead_code)] // Only the schema and the decoding of this type are under test.
#[derive(Debug, Deserialize, JsonSchema)]
struct Stop {
    name: String,
    nights: u8,
}

/// Plan a trip.
#[tool(name = "plan_trip")]
fn plan(stops: Vec<Stop>, budget: f64, labels: HashMap<String, String>) -> String {
    format!("{stops:?} {budget} {labels:?}")
}

/// The current time.
#[tool]
fn now() -> u64 {
    0
}

#[allow(dead_code)] // Only the schema and the decoding of this type are under test.
#[derive(Debug, Deserialize, JsonSchema)]
struct Node {
    value: i32,
    children: Vec<Node>,
}

/// Outline a document.
#[tool]
fn outline(title: String, root: Node) -> String {
    format!("{title} {root:?}")
}

/// A shape.
#[allow(dead_code)] // Only the schema and the decoding of this type are under test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Circle { radius: f64 },
    Square(f64),
    Point,
}

#[allow(dead_code)] // Only the schema and the decoding of this type are under test.
#[derive(Debug, Deserialize, JsonSchema)]
struct Label {
    #[schemars(length(min = 1, max = 20))]
    text: String,
    #[schemars(regex(pattern = r"^#[0-9a-f]{6}$"))]
    colour: Option<String>,
}

/// Draw a shape.
#[tool]
fn draw(
    shape: Shape,
    /// Label text.
    label: Option<Label>,
) -> bool {
    format!("{shape:?} {label:?}").is_empty()
}

/// Numbers of every width.
#[tool]
fn numbers(a: u8, b: i16, c: u64, d: f32, e: Option<i64>, flags: Vec<bool>) -> f64 {
    f64::from(a)
        + f64::from(b)
        + c as f64
        + f64::from(d)
        + e.unwrap_or(0) as f64
        + flags.len() as f64
}

fn hand_built() -> ToolDef {
    ToolDef::new(
        "hand",
        "Hand-built.",
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "HandArgs",
            "type": "object",
            "properties": {
                "mode": {"const": "fast"},
                "count": {"type": "integer", "exclusiveMinimum": 0, "examples": [3]},
                "point": {"$ref": "#/$defs/Point", "description": "Where."},
                "any": {}
            },
            "required": ["mode", "point"],
            "$defs": {"Point": {"type": "object", "title": "Point", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}}
        }),
        |args: Value| args,
    )
}

fn all_tools() -> Vec<ToolDef> {
    vec![
        weather::tool(),
        search::tool(),
        plan::tool(),
        now::tool(),
        outline::tool(),
        draw::tool(),
        numbers::tool(),
        hand_built(),
    ]
}

// ---- Golden schemas.

#[test]
fn weather_in_every_dialect() {
    let def = weather::tool();
    assert_eq!(def.name, "weather");
    assert_eq!(def.description, "Get the current weather for a city.");
    let standard = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city name."},
            "unit": {
                "type": ["string", "null"],
                "enum": ["celsius", "fahrenheit", null],
                "description": "A temperature unit."
            }
        },
        "required": ["city"],
        "additionalProperties": false
    });
    assert_eq!(def.parameters, standard);
    assert_eq!(def.parameters_for(SchemaDialect::OpenAi), standard);
    assert_eq!(def.parameters_for(SchemaDialect::Anthropic), standard);
    let strict = def.render(SchemaDialect::OpenAiStrict);
    assert!(strict.strict);
    assert_eq!(strict.limitation, None);
    assert_eq!(
        strict.schema,
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name."},
                "unit": {
                    "type": ["string", "null"],
                    "enum": ["celsius", "fahrenheit", null],
                    "description": "A temperature unit."
                }
            },
            "required": ["city", "unit"],
            "additionalProperties": false
        })
    );
    assert_eq!(
        def.parameters_for(SchemaDialect::Gemini),
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name."},
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "nullable": true,
                    "description": "A temperature unit."
                }
            },
            "required": ["city"]
        })
    );
}

#[test]
fn args_struct_fields_are_the_arguments() {
    let def = search::tool();
    let standard = json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "limit": {
                "type": ["integer", "null"],
                "format": "uint32",
                "minimum": 1,
                "maximum": 50,
                "description": "How many results."
            },
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            "contact": {"type": ["string", "null"], "format": "email"}
        },
        "required": ["query"],
        "additionalProperties": false
    });
    assert_eq!(def.parameters, standard);
    assert_eq!(def.parameters_for(SchemaDialect::Anthropic), standard);
    assert_eq!(
        def.strict_schema().unwrap(),
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for."},
                "limit": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "maximum": 50,
                    "description": "How many results."
                },
                "tags": {"type": ["array", "null"], "items": {"type": "string"}},
                "contact": {"type": ["string", "null"], "format": "email"}
            },
            "required": ["query", "contact", "limit", "tags"],
            "additionalProperties": false
        })
    );
    assert_eq!(
        def.parameters_for(SchemaDialect::Gemini),
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for."},
                "limit": {
                    "type": "integer",
                    "nullable": true,
                    "minimum": 1,
                    "maximum": 50,
                    "description": "How many results."
                },
                "tags": {"type": "array", "items": {"type": "string"}},
                "contact": {"type": "string", "nullable": true}
            },
            "required": ["query"]
        })
    );
}

#[tokio::test]
async fn args_struct_calls_decode_the_struct() {
    let def = search::tool();
    let out = def
        .call(json!({"query": "rust", "limit": 3, "contact": null}))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!([r#"SearchArgs { query: "rust", limit: Some(3), tags: [], contact: None }"#])
    );
    let err = def
        .call(json!({"limit": "x", "page": 2}))
        .await
        .unwrap_err();
    let mut names = err.arguments();
    names.sort_unstable();
    assert_eq!(names, vec!["page", "query"]);
    let err = def
        .call(json!({"query": "rust", "limit": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.arguments(), vec!["limit"]);
}

#[test]
fn maps_cannot_be_strict_and_say_why() {
    let def = plan::tool();
    assert_eq!(def.name, "plan_trip");
    let standard = json!({
        "type": "object",
        "properties": {
            "stops": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "nights": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255}
                    },
                    "required": ["name", "nights"]
                }
            },
            "budget": {"type": "number", "format": "double"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}
        },
        "required": ["stops", "budget", "labels"],
        "additionalProperties": false
    });
    assert_eq!(def.parameters, standard);
    let strict = def.render(SchemaDialect::OpenAiStrict);
    assert!(!strict.strict);
    assert_eq!(strict.schema, standard);
    assert_eq!(
        strict.limitation.as_deref(),
        Some("argument `labels` is a map with arbitrary keys (`additionalProperties`)")
    );
    assert_eq!(
        def.strict_schema().unwrap_err().to_string(),
        "OpenAI strict mode cannot express these parameters: argument `labels` is a map with arbitrary keys (`additionalProperties`)"
    );
    let gemini = def.render(SchemaDialect::Gemini);
    assert_eq!(
        gemini.schema,
        json!({
            "type": "object",
            "properties": {
                "stops": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "nights": {"type": "integer", "minimum": 0, "maximum": 255}
                        },
                        "required": ["name", "nights"]
                    }
                },
                "budget": {"type": "number", "format": "double"},
                "labels": {"type": "object"}
            },
            "required": ["stops", "budget", "labels"]
        })
    );
    assert!(gemini
        .limitation
        .unwrap()
        .contains("argument `labels` is an object with arbitrary keys"));
}

#[test]
fn a_tool_without_parameters() {
    let def = now::tool();
    let empty =
        json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false});
    assert_eq!(def.parameters, empty);
    assert_eq!(def.parameters_for(SchemaDialect::OpenAiStrict), empty);
    assert_eq!(def.parameters_for(SchemaDialect::Anthropic), empty);
    // Gemini refuses an object without properties: send no `parameters` at all.
    assert_eq!(def.render(SchemaDialect::Gemini).schema, Value::Null);
    assert_eq!(def.render(SchemaDialect::Gemini).limitation, None);
}

#[test]
fn recursive_types_keep_a_ref_where_allowed() {
    let def = outline::tool();
    let node = json!({
        "type": "object",
        "properties": {
            "value": {"type": "integer", "format": "int32"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
        },
        "required": ["value", "children"]
    });
    let standard = json!({
        "type": "object",
        "properties": {"title": {"type": "string"}, "root": node},
        "required": ["title", "root"],
        "additionalProperties": false,
        "$defs": {"Node": node}
    });
    assert_eq!(def.parameters, standard);
    let strict_node = json!({
        "type": "object",
        "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
        },
        "required": ["value", "children"],
        "additionalProperties": false
    });
    assert_eq!(
        def.strict_schema().unwrap(),
        json!({
            "type": "object",
            "properties": {"title": {"type": "string"}, "root": strict_node},
            "required": ["title", "root"],
            "additionalProperties": false,
            "$defs": {"Node": strict_node}
        })
    );
    let gemini = def.render(SchemaDialect::Gemini);
    assert_eq!(
        gemini.schema,
        json!({
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "root": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "integer", "format": "int32"},
                        "children": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"value": {"type": "integer", "format": "int32"}},
                                "required": ["value"]
                            }
                        }
                    },
                    "required": ["value", "children"]
                }
            },
            "required": ["title", "root"]
        })
    );
    assert!(gemini.limitation.unwrap().contains("is recursive"));
}

#[test]
fn data_enums_nested_structs_and_string_constraints() {
    let def = draw::tool();
    let shape_variants = |strict: bool| {
        let closed = |v: Value| {
            let mut v = v;
            if strict {
                v["additionalProperties"] = json!(false);
            }
            v
        };
        let radius = if strict {
            json!({"type": "number"})
        } else {
            json!({"type": "number", "format": "double"})
        };
        json!([
            {"type": "string", "enum": ["point"]},
            {
                "type": "object",
                "properties": {"circle": closed(json!({
                    "type": "object",
                    "properties": {"radius": radius},
                    "required": ["radius"]
                }))},
                "required": ["circle"],
                "additionalProperties": false
            },
            {
                "type": "object",
                "properties": {"square": radius},
                "required": ["square"],
                "additionalProperties": false
            }
        ])
    };
    let label = json!({
        "type": ["object", "null"],
        "description": "Label text.",
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 20},
            "colour": {"type": ["string", "null"], "pattern": "^#[0-9a-f]{6}$"}
        },
        "required": ["text"]
    });
    assert_eq!(
        def.parameters,
        json!({
            "type": "object",
            "properties": {
                "shape": {"description": "A shape.", "oneOf": shape_variants(false)},
                "label": label
            },
            "required": ["shape"],
            "additionalProperties": false
        })
    );
    assert_eq!(
        def.strict_schema().unwrap(),
        json!({
            "type": "object",
            "properties": {
                "shape": {"description": "A shape.", "anyOf": shape_variants(true)},
                "label": {
                    "type": ["object", "null"],
                    "description": "Label text.",
                    "properties": {
                        "text": {"type": "string"},
                        "colour": {"type": ["string", "null"], "pattern": "^#[0-9a-f]{6}$"}
                    },
                    "required": ["text", "colour"],
                    "additionalProperties": false
                }
            },
            "required": ["shape", "label"],
            "additionalProperties": false
        })
    );
    assert_eq!(
        def.parameters_for(SchemaDialect::Gemini),
        json!({
            "type": "object",
            "properties": {
                "shape": {
                    "description": "A shape.",
                    "anyOf": [
                        {"type": "string", "enum": ["point"]},
                        {
                            "type": "object",
                            "properties": {"circle": {
                                "type": "object",
                                "properties": {"radius": {"type": "number", "format": "double"}},
                                "required": ["radius"]
                            }},
                            "required": ["circle"]
                        },
                        {
                            "type": "object",
                            "properties": {"square": {"type": "number", "format": "double"}},
                            "required": ["square"]
                        }
                    ]
                },
                "label": {
                    "type": "object",
                    "nullable": true,
                    "description": "Label text.",
                    "properties": {
                        "text": {"type": "string", "minLength": 1, "maxLength": 20},
                        "colour": {"type": "string", "nullable": true, "pattern": "^#[0-9a-f]{6}$"}
                    },
                    "required": ["text"]
                }
            },
            "required": ["shape"]
        })
    );
}

#[test]
fn numbers_keep_their_bounds() {
    let def = numbers::tool();
    assert_eq!(
        def.parameters,
        json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255},
                "b": {"type": "integer", "format": "int16", "minimum": -32768, "maximum": 32767},
                "c": {"type": "integer", "format": "uint64", "minimum": 0},
                "d": {"type": "number", "format": "float"},
                "e": {"type": ["integer", "null"], "format": "int64"},
                "flags": {"type": "array", "items": {"type": "boolean"}}
            },
            "required": ["a", "b", "c", "d", "flags"],
            "additionalProperties": false
        })
    );
    assert_eq!(
        def.parameters_for(SchemaDialect::Gemini),
        json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "minimum": 0, "maximum": 255},
                "b": {"type": "integer", "minimum": -32768, "maximum": 32767},
                "c": {"type": "integer", "minimum": 0},
                "d": {"type": "number", "format": "float"},
                "e": {"type": "integer", "format": "int64", "nullable": true},
                "flags": {"type": "array", "items": {"type": "boolean"}}
            },
            "required": ["a", "b", "c", "d", "flags"]
        })
    );
    assert_eq!(
        def.strict_schema().unwrap()["properties"]["e"],
        json!({"type": ["integer", "null"]})
    );
}

#[test]
fn hand_built_schemas_are_rendered_too() {
    let def = hand_built();
    let gemini = def.render(SchemaDialect::Gemini);
    assert_eq!(
        gemini.schema,
        json!({
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["fast"]},
                "count": {"type": "integer", "minimum": 1},
                "point": {
                    "type": "object",
                    "description": "Where.",
                    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                    "required": ["x", "y"]
                },
                "any": {}
            },
            "required": ["mode", "point"]
        })
    );
    assert!(gemini
        .limitation
        .unwrap()
        .contains("argument `any` accepts any JSON value"));
    let standard = def.parameters_for(SchemaDialect::Anthropic);
    assert_eq!(standard.get("$schema"), None);
    assert_eq!(standard["$defs"]["Point"]["title"], "Point");
    let strict = def.render(SchemaDialect::OpenAiStrict);
    assert!(!strict.strict);
    assert_eq!(
        strict.limitation.as_deref(),
        Some("argument `any` accepts any JSON value")
    );

    // Without the free-form property, strict mode works: `$ref` stands alone, the
    // description moves to a one-branch `anyOf`, `const` becomes `enum`.
    let mut parameters = def.parameters.clone();
    parameters["properties"]
        .as_object_mut()
        .unwrap()
        .remove("any");
    let def = ToolDef::new("hand", "Hand-built.", parameters, |args: Value| args);
    assert_eq!(
        def.strict_schema().unwrap(),
        json!({
            "type": "object",
            "properties": {
                "mode": {"enum": ["fast"]},
                "count": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                "point": {"anyOf": [{"$ref": "#/$defs/Point"}], "description": "Where."}
            },
            "required": ["mode", "point", "count"],
            "additionalProperties": false,
            "$defs": {"Point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
                "additionalProperties": false
            }}
        })
    );
}

/// Counts how often its schema is generated.
#[derive(Debug, Deserialize)]
struct Counted(u32);

static COUNTED_SCHEMAS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl JsonSchema for Counted {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Counted".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        COUNTED_SCHEMAS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        schemars::json_schema!({"type": "integer", "minimum": 0})
    }
}

/// Uses a type whose schema generation is counted.
#[tool]
fn counted(n: Counted) -> u32 {
    n.0
}

#[tokio::test]
async fn schemas_are_computed_once() {
    let defs: Vec<ToolDef> = (0..5).map(|_| counted::tool()).collect();
    assert_eq!(defs[4].parameters["properties"]["n"]["minimum"], 0);
    assert_eq!(defs[0].call(json!({"n": 7})).await.unwrap(), json!(7));
    assert_eq!(COUNTED_SCHEMAS.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn every_schema_follows_its_dialect_rules() {
    let mut strict_kept = 0;
    for def in all_tools() {
        strict_kept += usize::from(rules::check_tool(&def));
    }
    assert_eq!(
        strict_kept, 6,
        "weather, search, now, outline, draw, numbers are strict"
    );
}

#[test]
fn the_checker_catches_broken_schemas() {
    let open = json!({"type": "object", "properties": {"a": {"type": "object", "properties": {}, "required": []}}, "required": ["a"], "additionalProperties": false});
    assert!(std::panic::catch_unwind(|| rules::check_openai_strict(&open)).is_err());
    let with_ref = json!({"type": "object", "properties": {"a": {"type": "string", "additionalProperties": false}}, "required": [], "additionalProperties": false});
    assert!(std::panic::catch_unwind(|| rules::check_openai_strict(&with_ref)).is_err());
    let gemini = json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}});
    assert!(std::panic::catch_unwind(|| rules::check_gemini(&gemini, true)).is_err());
    let gemini = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
    assert!(std::panic::catch_unwind(|| rules::check_gemini(&gemini, true)).is_err());
}

/// A schema whose every level refers to the next twice doubles with each level when its `$ref`s
/// are inlined (depth 20: a million subschemas). Gemini's rendering stops inlining past a
/// bound and says so; the schema then goes as JSON Schema with its `$defs` kept, its size
/// that of the input.
#[test]
fn gemini_inlining_of_doubling_refs_is_bounded() {
    const DEPTH: usize = 20;
    let mut defs = serde_json::Map::new();
    for level in 0..DEPTH {
        let next = serde_json::json!({"$ref": format!("#/$defs/L{}", level + 1)});
        defs.insert(
            format!("L{level}"),
            serde_json::json!({"type": "object",
                "properties": {"left": next.clone(), "right": next}}),
        );
    }
    defs.insert(format!("L{DEPTH}"), serde_json::json!({"type": "string"}));
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/L0"}},
        "required": ["root"],
        "$defs": defs,
    });
    let def = ToolDef::new("tree", "A deep tree", schema, |_: Value| {
        serde_json::json!("ok")
    });
    let started = std::time::Instant::now();
    let gemini = def.render(SchemaDialect::Gemini);
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    assert_eq!(gemini.schema, Value::Null);
    let limitation = gemini.limitation.expect("the dialect says why");
    assert!(limitation.contains("$defs"), "{limitation}");
    // What goes instead keeps the `$defs`: bounded by the input, not 2^20.
    let standard = def.parameters_for(SchemaDialect::Anthropic);
    assert!(standard["$defs"]["L19"].is_object());
    assert!(standard.to_string().len() < 10_000);
}
