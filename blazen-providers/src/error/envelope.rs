//! Error envelopes: what an error body or an error object says, whatever its shape (OpenAI,
//! OpenRouter, new-api, Anthropic, Gemini, AWS, FastAPI, plain text, HTML, empty).

use std::time::Duration;

use serde_json::Value;

use super::headers::secs_to_duration;

/// What an error body says, whatever its shape.
#[derive(Debug, Default)]
pub(super) struct Envelope {
    pub(super) message: Option<String>,
    pub(super) code: Option<String>,
    pub(super) numeric_code: Option<i64>,
    pub(super) error_type: Option<String>,
    pub(super) param: Option<String>,
    pub(super) request_id: Option<String>,
    pub(super) retry_after: Option<Duration>,
    pub(super) upstream_provider: Option<String>,
    /// The body carries moderation metadata (OpenRouter `metadata.reasons` / `flagged_input`).
    pub(super) moderation: bool,
}

impl Envelope {
    /// A numeric code that is an HTTP status (OpenRouter, Gemini in streams).
    pub(super) fn numeric_status(&self) -> Option<u16> {
        self.numeric_code
            .filter(|c| (100..=599).contains(c))
            .and_then(|c| u16::try_from(c).ok())
    }
}

/// Parses an error body of any shape. Never fails: unknown shapes give a readable message.
pub(super) fn parse_body(body: &[u8], status: u16) -> Envelope {
    let mut env = Envelope::default();
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        env.message = Some(format!("empty response body (HTTP {status})"));
        return env;
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        read_json_body(&value, &mut env);
        if env.message.is_none() {
            env.message = Some(trimmed.to_owned());
        }
        return env;
    }
    let lower_head: String = trimmed
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower_head.starts_with('<') || lower_head.contains("<html") {
        let title = html_title(trimmed);
        env.message = Some(match title {
            Some(t) => format!("HTTP {status} with an HTML page (likely from a proxy): {t}"),
            None => format!("HTTP {status} with an HTML page (likely from a proxy)"),
        });
        return env;
    }
    let first_line = trimmed.lines().next().unwrap_or(trimmed).trim();
    env.message = Some(format!("HTTP {status}: {first_line}"));
    env
}

/// The text of the first `<title>` (or `<h1>`) of an HTML page.
pub(super) fn html_title(html: &str) -> Option<String> {
    for tag in ["title", "h1"] {
        let lower = html.to_ascii_lowercase();
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        if let Some(start) = lower.find(&open) {
            let after = start + lower[start..].find('>')? + 1;
            let end = after + lower[after..].find(&close)?;
            // `lower` has the same byte offsets as `html` (ASCII lowercasing keeps lengths).
            let t = html.get(after..end)?.split_whitespace().collect::<Vec<_>>();
            if !t.is_empty() {
                return Some(t.join(" "));
            }
        }
    }
    None
}

/// Reads a JSON error body (any provider's envelope) into `env`.
pub(super) fn read_json_body(value: &Value, env: &mut Envelope) {
    let Some(obj) = value.as_object() else {
        if let Some(arr) = value.as_array() {
            // Gemini sometimes answers a stream request with `[{"error": …}]`.
            if let Some(first) = arr.first() {
                read_json_body(first, env);
            }
        } else if let Some(s) = value.as_str() {
            env.message = Some(s.to_owned());
        }
        return;
    };
    if let Some(rid) = obj.get("request_id").and_then(Value::as_str) {
        env.request_id = Some(rid.to_owned());
    }
    match obj.get("error") {
        Some(Value::String(s)) => {
            // `{"error": "Unauthorized", "message": …}` (some proxies) or `{"error": "…"}`.
            env.message = Some(s.clone());
            read_error_object(value, env);
            if let Some(m) = obj.get("message").and_then(Value::as_str) {
                env.message = Some(m.to_owned());
            } else if let Some(m) = obj.get("error_description").and_then(Value::as_str) {
                env.message = Some(format!("{s}: {m}"));
            }
            if env.code.is_none() && env.error_type.is_none() && is_identifier(s) {
                // `{"error": "invalid_api_key"}`: a machine code, not a sentence.
                env.code = Some(s.clone());
            }
        }
        Some(err @ Value::Object(_)) => read_error_object(err, env),
        _ => {
            // Top-level shapes: Cohere/Bedrock `{"message": …}`, AWS `__type`, FastAPI
            // `{"detail": …}`.
            read_error_object(value, env);
            if env.message.is_none() {
                env.message = detail_text(obj.get("detail"));
            }
        }
    }
}

/// Reads one error object (`{message, type, code, param, status, details, metadata}`).
pub(super) fn read_error_object(err: &Value, env: &mut Envelope) {
    let Some(obj) = err.as_object() else { return };
    if let Some(m) = obj.get("message").or_else(|| obj.get("msg")) {
        env.message = match m {
            Value::String(s) => Some(s.clone()),
            Value::Null => env.message.take(),
            other => Some(other.to_string()),
        };
    }
    match obj.get("code") {
        Some(Value::String(s)) if !s.is_empty() => env.code = Some(s.clone()),
        Some(Value::Number(n)) => {
            env.code = Some(n.to_string());
            env.numeric_code = n.as_i64();
        }
        _ => {}
    }
    let ty = obj
        .get("type")
        .or_else(|| obj.get("__type"))
        .or_else(|| obj.get("status"));
    if let Some(Value::String(t)) = ty {
        if !t.is_empty() && t != "error" {
            // AWS `__type` may be "com.amazon.coral.service#ValidationException".
            let t = t.rsplit('#').next().unwrap_or(t);
            env.error_type = Some(t.to_owned());
        }
    }
    if let Some(p) = obj.get("param") {
        env.param = match p {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
    }
    if let Some(meta) = obj.get("metadata").and_then(Value::as_object) {
        if let Some(name) = meta.get("provider_name").and_then(Value::as_str) {
            env.upstream_provider = Some(name.to_owned());
        }
        read_moderation(meta, env);
        if let Some(raw) = meta.get("raw") {
            let raw = match raw {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let base = env.message.take().unwrap_or_default();
            env.message = Some(if base.is_empty() {
                raw
            } else {
                format!("{base} (upstream: {raw})")
            });
        }
    }
    if let Some(details) = obj.get("details").and_then(Value::as_array) {
        for d in details {
            let kind = d.get("@type").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("RetryInfo") {
                if let Some(delay) = d.get("retryDelay").and_then(Value::as_str) {
                    env.retry_after = parse_proto_duration(delay);
                }
            } else if kind.ends_with("ErrorInfo") && env.numeric_code.is_some() {
                // Gemini: the numeric code repeats the status; the reason (API_KEY_INVALID, …)
                // is the machine code worth keeping.
                if let Some(reason) = d.get("reason").and_then(Value::as_str) {
                    env.code = Some(reason.to_owned());
                }
            }
        }
    }
}

/// OpenRouter's moderation metadata (`{"reasons": [...], "flagged_input": "..."}`): marks the
/// envelope as a moderation refusal and keeps the reasons and the flagged input in the message.
pub(super) fn read_moderation(meta: &serde_json::Map<String, Value>, env: &mut Envelope) {
    let reasons: Vec<String> = match meta.get("reasons") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| match r {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|r| !r.is_empty())
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let flagged = match meta.get("flagged_input") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Null | Value::String(_)) | None => None,
        Some(other) => Some(other.to_string()),
    };
    if reasons.is_empty() && flagged.is_none() {
        return;
    }
    env.moderation = true;
    let mut extra = Vec::new();
    if !reasons.is_empty() {
        extra.push(format!("reasons: {}", reasons.join(", ")));
    }
    if let Some(f) = flagged {
        extra.push(format!("flagged input: {f:?}"));
    }
    let base = env.message.take().unwrap_or_default();
    let extra = extra.join("; ");
    env.message = Some(if base.is_empty() {
        extra
    } else {
        format!("{base} ({extra})")
    });
}

/// Whether a message says a content filter or moderation refused the request (as opposed to a
/// key or permission problem, which shares the statuses 400 and 403).
pub(super) fn says_moderation(message: &str) -> bool {
    const DIRECT: [&str; 6] = [
        "moderation",
        "content filter",
        "content_filter",
        "content policy",
        "content management policy",
        "safety system",
    ];
    // These verbs also name accounts, IPs and regions ("your IP is blocked", "account
    // flagged"); they count only when they are about content.
    const VERBS: [&str; 3] = ["flagged", "filtered", "blocked"];
    const CONTENT: [&str; 5] = ["prompt", "content", "input", "output", "response"];
    let lower = message.to_ascii_lowercase();
    DIRECT.iter().any(|w| lower.contains(w))
        || (VERBS.iter().any(|w| lower.contains(w)) && CONTENT.iter().any(|w| lower.contains(w)))
}

/// Whether an `error` member carries an error: not `null`, `false`, `""` or `{}` (which some
/// proxies put in every normal chunk).
pub(crate) fn is_error_value(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// FastAPI-style `detail`: a string or a list of `{loc, msg}`.
pub(super) fn detail_text(detail: Option<&Value>) -> Option<String> {
    match detail? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let msgs: Vec<String> = items
                .iter()
                .map(|i| match i.get("msg").and_then(Value::as_str) {
                    Some(m) => m.to_owned(),
                    None => i.to_string(),
                })
                .collect();
            (!msgs.is_empty()).then(|| msgs.join("; "))
        }
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether `s` looks like a machine code (`invalid_api_key`, `channel:no_available_key`).
pub(super) fn is_identifier(s: &str) -> bool {
    s.len() <= 64
        && s.contains(['_', ':'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':' || b == b'.')
}

/// A protobuf JSON duration (`"1.5s"`, `"30s"`, `"0.250s"`).
pub(super) fn parse_proto_duration(value: &str) -> Option<Duration> {
    let v = value.trim();
    let secs = v.strip_suffix('s').unwrap_or(v).parse::<f64>().ok()?;
    secs_to_duration(secs)
}
