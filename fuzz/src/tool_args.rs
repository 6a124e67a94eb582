//! Tool-argument validation: a `#[tool]`'s arguments checked from arbitrary bytes (parsed as
//! JSON when they are, and always also given as a JSON string, as models sometimes send
//! them) give the tool's result or a `ToolError` — never a panic. A valid call's result is
//! what the tool returns.

use blazen::prelude::*;

/// A temperature unit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Degrees Celsius.
    Celsius,
    /// Degrees Fahrenheit.
    Fahrenheit,
}

/// Get the weather for a city.
#[tool]
fn weather(
    /// The city name.
    city: String,
    /// The unit.
    unit: Option<Unit>,
    /// Days ahead.
    days: Option<u8>,
    /// Hours of the day to report.
    hours: Vec<u32>,
) -> String {
    format!("{city} {unit:?} {days:?} {}", hours.len())
}

/// The arguments of [`search`].
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// What to look for.
    pub query: String,
    /// At most this many results.
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
    /// Filters.
    #[serde(default)]
    pub filters: std::collections::BTreeMap<String, f64>,
}

/// Search the documents.
#[tool(name = "search_docs")]
fn search(args: SearchArgs) -> Result<Vec<String>, ToolError> {
    let limit = args.limit.unwrap_or(1).min(50) as usize;
    Ok(vec![args.query; limit.min(3)])
}

/// One fuzz input: see the module docs.
pub fn run(data: &[u8]) {
    let mut inputs = vec![serde_json::Value::String(
        String::from_utf8_lossy(data).into_owned(),
    )];
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        inputs.push(value);
    }
    for def in [weather::tool(), search::tool()] {
        for args in &inputs {
            match futures::executor::block_on(def.call(args.clone())) {
                Ok(value) => assert!(!value.is_null(), "{}: a null result", def.name),
                Err(err) => {
                    let _ = (err.to_string(), err.arguments(), err.is_invalid_arguments());
                }
            }
        }
    }
}
