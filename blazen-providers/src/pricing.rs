//! Prices of known models, for [`CompletionResponse::cost`](crate::CompletionResponse::cost).
//!
//! Prices are USD per million tokens, from the providers' public price pages (November 2026
//! list prices, standard tier, no caching discounts). A model that is not in the table has no
//! cost (`None`), never a guess.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Instant;

use crate::http::elapsed_ms;
use crate::types::{CompletionResponse, RequestTiming, TokenUsage};

/// The price of a model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    /// Price of one million prompt (input) tokens.
    pub input_per_million: f64,
    /// Price of one million completion (output) tokens.
    pub output_per_million: f64,
}

impl ModelPrice {
    /// The cost of `usage` at this price.
    pub fn cost(&self, usage: &TokenUsage) -> f64 {
        // Token counts are far below 2^52, so the conversion is exact.
        let (p, c) = (usage.prompt_tokens as f64, usage.completion_tokens as f64);
        (p * self.input_per_million + c * self.output_per_million) / 1_000_000.0
    }
}

/// (model id, input, output) in USD per million tokens.
const TABLE: &[(&str, f64, f64)] = &[
    // OpenAI
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-5", 1.25, 10.00),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5-nano", 0.05, 0.40),
    ("o1", 15.00, 60.00),
    ("o3", 2.00, 8.00),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("text-embedding-3-small", 0.02, 0.0),
    ("text-embedding-3-large", 0.13, 0.0),
    ("text-embedding-ada-002", 0.10, 0.0),
    // Anthropic
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-sonnet-4-5", 3.00, 15.00),
    ("claude-opus-4", 15.00, 75.00),
    ("claude-opus-4-1", 15.00, 75.00),
    // Google
    ("gemini-2.0-flash", 0.10, 0.40),
    ("gemini-2.0-flash-lite", 0.075, 0.30),
    ("gemini-2.5-flash", 0.30, 2.50),
    ("gemini-2.5-flash-lite", 0.10, 0.40),
    ("gemini-2.5-pro", 1.25, 10.00),
    // Groq
    ("llama-3.3-70b-versatile", 0.59, 0.79),
    ("llama-3.1-8b-instant", 0.05, 0.08),
    // Mistral
    ("mistral-small-latest", 0.10, 0.30),
    ("mistral-medium-latest", 0.40, 2.00),
    ("mistral-large-latest", 2.00, 6.00),
    ("ministral-3b-latest", 0.04, 0.04),
    ("ministral-8b-latest", 0.10, 0.10),
    ("mistral-embed", 0.10, 0.0),
    // DeepSeek
    ("deepseek-chat", 0.27, 1.10),
    ("deepseek-reasoner", 0.55, 2.19),
    // Perplexity (token prices only; request fees are reported by the API itself)
    ("sonar", 1.00, 1.00),
    ("sonar-pro", 3.00, 15.00),
    // xAI
    ("grok-3", 3.00, 15.00),
    ("grok-3-mini", 0.30, 0.50),
];

/// Whether `model` is `key` or `key` followed by a dated or `latest` suffix
/// (`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`, `deepseek-chat`), optionally behind a
/// gateway's vendor prefix (`openai/gpt-4o`).
fn matches(model: &str, key: &str) -> bool {
    let Some(rest) = model.strip_prefix(key) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(suffix) = rest.strip_prefix('-') else {
        return false;
    };
    suffix.starts_with(|c: char| c.is_ascii_digit()) || suffix == "latest"
}

/// The price of `model`, when the table knows it.
///
/// ```
/// use blazen_providers::pricing;
/// assert!(pricing::price("gpt-4o-mini-2024-07-18").is_some());
/// assert!(pricing::price("openai/gpt-4.1-mini").is_some());
/// assert!(pricing::price("my-finetune").is_none());
/// ```
pub fn price(model: &str) -> Option<ModelPrice> {
    // Answers are priced on every response, mostly for the same few models: remember them
    // (bounded, so arbitrary model names cannot grow it without end).
    static SEEN: std::sync::OnceLock<RwLock<HashMap<Box<str>, Option<ModelPrice>>>> =
        std::sync::OnceLock::new();
    let seen = SEEN.get_or_init(|| RwLock::new(HashMap::new()));
    if let Some(known) = seen.read().ok().and_then(|m| m.get(model).copied()) {
        return known;
    }
    let found = look_up(model);
    if let Ok(mut m) = seen.write() {
        if m.len() < 1024 {
            m.insert(model.into(), found);
        }
    }
    found
}

fn look_up(model: &str) -> Option<ModelPrice> {
    let model = model.trim().to_ascii_lowercase();
    let bare = model.rsplit('/').next().unwrap_or(&model);
    TABLE
        .iter()
        .filter(|(key, _, _)| matches(bare, key))
        .max_by_key(|(key, _, _)| key.len())
        .map(|&(_, input, output)| ModelPrice {
            input_per_million: input,
            output_per_million: output,
        })
}

/// The cost in USD of `usage` on `model`; `None` for a model the table does not know.
///
/// ```
/// use blazen_providers::{pricing, TokenUsage};
/// let cost = pricing::cost("gpt-4.1-mini", &TokenUsage::new(1_000_000, 0)).unwrap();
/// assert!((cost - 0.40).abs() < 1e-9);
/// ```
pub fn cost(model: &str, usage: &TokenUsage) -> Option<f64> {
    price(model).map(|p| p.cost(usage))
}

/// What every provider's answer gets the same way: the measured total time (kept beside any
/// queue/execution times the provider reported) and the cost from the pricing table, unless
/// the provider reported one.
pub(crate) fn finish_response(mut out: CompletionResponse, started: Instant) -> CompletionResponse {
    let timing = out.timing.get_or_insert_with(RequestTiming::default);
    timing.total_ms = Some(elapsed_ms(started));
    if out.cost.is_none() {
        out.cost = out.usage.and_then(|u| cost(&out.model, &u));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_key_wins_and_suffixes_are_strict() {
        let mini = price("gpt-4o-mini").unwrap();
        assert!((mini.input_per_million - 0.15).abs() < 1e-12);
        let dated = price("gpt-4.1-mini-2025-04-14").unwrap();
        assert!((dated.input_per_million - 0.40).abs() < 1e-12);
        assert!(price("gpt-4o-audio-preview").is_none());
        assert!(price("gpt-5.1").is_none());
        assert!(price("").is_none());
    }

    #[test]
    fn cost_counts_both_directions() {
        let c = cost("deepseek-chat", &TokenUsage::new(1000, 2000)).unwrap();
        assert!((c - (0.27e-3 + 2.2e-3)).abs() < 1e-12);
    }
}
