//! `ToolDef::call`: good arguments, every kind of bad argument, panics, async handlers.

#[allow(dead_code)] // Not every test file uses every rule.
#[path = "support/tool.rs"]
mod rules;

use std::collections::HashMap;

use blazen::prelude::*;
use blazen::{ArgumentErrorKind, ToolDef};
use serde_json::Value;

/// A temperature unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
}

#[derive(Debug, Serialize)]
struct Weather {
    city: String,
    temperature: f64,
    unit: Unit,
}

/// Get the current weather for a city.
#[tool]
async fn weather(
    /// The city name.
    city: String,
    unit: Option<Unit>,
) -> Result<Weather, ToolError> {
    if city == "Atlantis" {
        return Err(ToolError::new("no such city: Atlantis"));
    }
    tokio::task::yield_now().await;
    Ok(Weather {
        city,
        temperature: 21.5,
        unit: unit.unwrap_or(Unit::Celsius),
    })
}

/// An address.
#[derive(Debug, Deserialize, JsonSchema)]
struct Address {
    street: String,
    zip: u32,
}

/// Count the letters of a word, up to a limit.
#[tool(name = "count_letters")]
fn count(word: String, limit: Option<usize>, address: Option<Address>) -> usize {
    let _ = address.map(|a| (a.street, a.zip));
    word.chars().count().min(limit.unwrap_or(usize::MAX))
}

/// Always panics.
#[tool]
fn explode(message: String) -> String {
    panic!("{message}")
}

/// Panics after an await.
#[tool]
async fn explode_later() -> u32 {
    tokio::task::yield_now().await;
    panic!("late boom")
}

/// Fails with a plain string error.
#[tool]
fn divide(a: f64, b: f64) -> Result<f64, String> {
    if b == 0.0 {
        Err("division by zero".to_owned())
    } else {
        Ok(a / b)
    }
}

/// Takes a map.
#[tool]
fn tally(counts: HashMap<String, u32>) -> u32 {
    counts.values().sum()
}

#[tokio::test]
async fn async_tool_with_good_arguments_returns_its_output_as_json() {
    let def = weather::tool();
    let out = def.call(json!({"city": "Paris"})).await.unwrap();
    assert_eq!(
        out,
        json!({"city": "Paris", "temperature": 21.5, "unit": "celsius"})
    );
    let out = def
        .call(json!({"city": "Oslo", "unit": "fahrenheit"}))
        .await
        .unwrap();
    assert_eq!(out["unit"], "fahrenheit");
}

#[tokio::test]
async fn null_for_an_optional_argument_means_absent() {
    let out = weather::tool()
        .call(json!({"city": "Paris", "unit": null}))
        .await
        .unwrap();
    assert_eq!(out["unit"], "celsius");
}

#[tokio::test]
async fn the_function_stays_callable() {
    assert_eq!(weather("Rome".into(), None).await.unwrap().city, "Rome");
    assert_eq!(count("hello".into(), Some(3), None), 3);
}

#[tokio::test]
async fn missing_argument_is_named() {
    let err = weather::tool().call(json!({})).await.unwrap_err();
    assert!(err.is_invalid_arguments());
    assert_eq!(err.arguments(), vec!["city"]);
    assert_eq!(
        err.to_string(),
        "invalid arguments: missing required argument `city`"
    );
}

#[tokio::test]
async fn wrong_type_is_named() {
    let err = weather::tool().call(json!({"city": 42})).await.unwrap_err();
    assert_eq!(err.arguments(), vec!["city"]);
    assert_eq!(
        err.to_string(),
        "invalid arguments: invalid value for argument `city`: invalid type: integer `42`, expected a string"
    );
}

#[tokio::test]
async fn unknown_enum_value_is_named() {
    let err = weather::tool()
        .call(json!({"city": "Paris", "unit": "kelvin"}))
        .await
        .unwrap_err();
    assert_eq!(err.arguments(), vec!["unit"]);
    assert!(
        err.to_string().contains("unknown variant `kelvin`"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_argument_is_named_with_the_expected_ones() {
    let err = weather::tool()
        .call(json!({"city": "Paris", "country": "FR"}))
        .await
        .unwrap_err();
    assert_eq!(err.arguments(), vec!["country"]);
    assert_eq!(
        err.to_string(),
        "invalid arguments: unknown argument `country` (expected one of `city`, `unit`)"
    );
}

#[tokio::test]
async fn nested_problems_name_the_path() {
    let err = count::tool()
        .call(json!({"word": "hi", "address": {"street": "Main", "zip": "x"}}))
        .await
        .unwrap_err();
    assert_eq!(err.arguments(), vec!["address.zip"]);
    let err = count::tool()
        .call(json!({"word": "hi", "address": {"street": "Main"}}))
        .await
        .unwrap_err();
    assert_eq!(err.arguments(), vec!["address"]);
    assert!(err.to_string().contains("missing field `zip`"), "{err}");
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let err = count::tool()
        .call(json!({"limit": "ten", "colour": "red"}))
        .await
        .unwrap_err();
    let blazen::ToolError::InvalidArguments { problems } = &err else {
        panic!("expected invalid arguments, got {err:?}");
    };
    let kinds: Vec<(&str, ArgumentErrorKind)> = problems
        .iter()
        .map(|p| (p.argument.as_str(), p.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("colour", ArgumentErrorKind::Unknown),
            ("word", ArgumentErrorKind::Missing),
            ("limit", ArgumentErrorKind::Invalid),
        ]
    );
}

#[tokio::test]
async fn arguments_that_are_not_an_object_are_refused() {
    let err = weather::tool().call(json!([1, 2])).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid arguments: the arguments must be a JSON object of named arguments, found an array"
    );
    // `null` means no arguments; a string holding an object is parsed.
    let err = weather::tool().call(Value::Null).await.unwrap_err();
    assert_eq!(err.arguments(), vec!["city"]);
    let out = weather::tool()
        .call(json!("{\"city\": \"Lima\"}"))
        .await
        .unwrap();
    assert_eq!(out["city"], "Lima");
}

#[tokio::test]
async fn tool_errors_pass_through_and_display_errors_become_failed() {
    let err = weather::tool()
        .call(json!({"city": "Atlantis"}))
        .await
        .unwrap_err();
    assert_eq!(err, ToolError::new("no such city: Atlantis"));
    let err = divide::tool()
        .call(json!({"a": 1, "b": 0}))
        .await
        .unwrap_err();
    assert_eq!(err, ToolError::new("division by zero"));
    assert_eq!(
        divide::tool().call(json!({"a": 1, "b": 4})).await.unwrap(),
        json!(0.25)
    );
}

#[tokio::test]
async fn panicking_sync_tool_gives_an_error() {
    let err = explode::tool()
        .call(json!({"message": "boom"}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ToolError::Panicked {
            message: "boom".into()
        }
    );
}

#[tokio::test]
async fn panicking_async_tool_gives_an_error() {
    let err = explode_later::tool().call(json!({})).await.unwrap_err();
    assert_eq!(
        err,
        ToolError::Panicked {
            message: "late boom".into()
        }
    );
}

#[tokio::test]
async fn map_arguments_decode() {
    let out = tally::tool()
        .call(json!({"counts": {"a": 1, "b": 2}}))
        .await
        .unwrap();
    assert_eq!(out, json!(3));
}

#[tokio::test]
async fn calls_can_be_spawned() {
    let def = weather::tool();
    let call = def.call(json!({"city": "Paris"}));
    let out = tokio::spawn(call).await.unwrap().unwrap();
    assert_eq!(out["city"], "Paris");
}

#[test]
fn tool_def_is_clone_send_sync_debug() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<ToolDef>();
    let def = weather::tool();
    let debug = format!("{def:?}");
    assert!(debug.starts_with("ToolDef { name: \"weather\""), "{debug}");
    assert!(!debug.contains("handler"), "{debug}");
    assert_eq!(count::tool().name, "count_letters");
}

// ---- Tools built by hand.

fn search_def() -> ToolDef {
    ToolDef::new(
        "search",
        "Search the web for a query",
        json!({
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
            "additionalProperties": false,
        }),
        |args: Value| json!({"query": args["query"], "has_limit": args.get("limit").is_some()}),
    )
}

#[tokio::test]
async fn hand_built_sync_tool() {
    let out = search_def()
        .call(json!({"query": "rust", "limit": null}))
        .await
        .unwrap();
    assert_eq!(out, json!({"query": "rust", "has_limit": false}));
}

#[tokio::test]
async fn hand_built_tool_checks_required_and_unknown_arguments() {
    let err = search_def()
        .call(json!({"limit": 3, "lang": "en"}))
        .await
        .unwrap_err();
    let mut names = err.arguments();
    names.sort_unstable();
    assert_eq!(names, vec!["lang", "query"]);
}

#[tokio::test]
async fn hand_built_async_tool_and_its_errors() {
    let def = ToolDef::new(
        "lookup",
        "Look a key up.",
        json!({"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}),
        |args: Value| async move {
            tokio::task::yield_now().await;
            match args["key"].as_str() {
                Some("a") => Ok(json!(1)),
                Some("panic") => panic!("asked to panic"),
                _ => Err(format!("no key {}", args["key"])),
            }
        },
    );
    assert_eq!(def.call(json!({"key": "a"})).await.unwrap(), json!(1));
    assert_eq!(
        def.call(json!({"key": "b"})).await.unwrap_err(),
        ToolError::new("no key \"b\"")
    );
    assert!(matches!(
        def.call(json!({"key": "panic"})).await.unwrap_err(),
        ToolError::Panicked { .. }
    ));
    // Extra keys are allowed: the schema does not close the object.
    assert!(def.call(json!({"key": "a", "x": 1})).await.is_ok());
}

#[tokio::test]
async fn hand_built_sync_panic_is_caught() {
    let def = ToolDef::new(
        "bad",
        "Panics.",
        json!({"type": "object", "properties": {}}),
        |_: Value| -> Value { panic!("sync boom") },
    );
    assert_eq!(
        def.call(json!({})).await.unwrap_err(),
        ToolError::Panicked {
            message: "sync boom".into()
        }
    );
}

#[test]
fn every_schema_here_follows_its_dialect_rules() {
    for def in [
        weather::tool(),
        count::tool(),
        explode::tool(),
        explode_later::tool(),
        divide::tool(),
        tally::tool(),
        search_def(),
    ] {
        rules::check_tool(&def);
    }
}
