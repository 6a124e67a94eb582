//! What the response headers say about an error or an answer: the request id, the retry delay
//! (`retry-after-ms`, `Retry-After`, and the upstream's as a gateway forwards them),
//! `x-should-retry`, a cost a gateway reports. The HTTP layer reads the request id and cost of
//! successful answers and streams here too.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// Longest retry delay we accept from a server; anything longer is treated as absent.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The request id, from the first header that carries one (the one list of request-id headers;
/// the HTTP layer can share it for successful responses and streams).
pub(crate) fn request_id_from(headers: &HeaderMap) -> Option<String> {
    const NAMES: [&str; 12] = [
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "x-amz-request-id",
        "x-goog-request-id",
        "x-fal-request-id",
        "openrouter-request-id",
        "mistral-correlation-id",
        // Gateways: LiteLLM proxy's id of the call, Portkey's trace id.
        "x-litellm-call-id",
        "x-portkey-trace-id",
        "x-trace-id",
        "cf-ray",
    ];
    // One pass over the (few) headers of the response, comparing names, instead of ten
    // lookups that each parse a header name: this runs on every successful answer.
    let mut best: Option<(usize, &str)> = None;
    for (name, value) in headers {
        let Some(rank) = NAMES.iter().position(|n| *n == name.as_str()) else {
            continue;
        };
        if best.is_some_and(|(r, _)| r <= rank) {
            continue;
        }
        if let Some(v) = value.to_str().ok().map(str::trim).filter(|v| !v.is_empty()) {
            best = Some((rank, v));
        }
    }
    best.map(|(_, v)| v.to_owned())
}

/// The retry delay of `retry-after-ms` or `Retry-After` (delta-seconds or an HTTP date); else
/// the upstream's, as the LiteLLM proxy forwards it (`llm_provider-retry-after-ms`,
/// `llm_provider-retry-after`).
pub(super) fn retry_after_from(headers: &HeaderMap) -> Option<Duration> {
    retry_after_pair(headers, "retry-after-ms", "retry-after").or_else(|| {
        retry_after_pair(
            headers,
            "llm_provider-retry-after-ms",
            "llm_provider-retry-after",
        )
    })
}

/// The delay of a milliseconds header, else of a `Retry-After`-style one.
fn retry_after_pair(headers: &HeaderMap, ms_name: &str, name: &str) -> Option<Duration> {
    if let Some(ms) = header_str(headers, ms_name).and_then(|v| v.parse::<f64>().ok()) {
        if let Some(d) = secs_to_duration(ms / 1000.0) {
            return Some(d);
        }
    }
    let v = header_str(headers, name)?;
    parse_retry_after(v, SystemTime::now())
}

/// The cost in USD a gateway reports in a header (the LiteLLM proxy's
/// `x-litellm-response-cost`); `None` when absent, negative or not a number.
pub(crate) fn cost_from(headers: &HeaderMap) -> Option<f64> {
    header_str(headers, "x-litellm-response-cost")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|c| c.is_finite() && *c >= 0.0)
}

/// Parses a `Retry-After` value against `now`: seconds (integer or decimal) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return secs_to_duration(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let d = at.duration_since(now).unwrap_or(Duration::ZERO);
    (d <= MAX_RETRY_AFTER).then_some(d)
}

/// `secs` as a retry delay: `None` when negative, not finite or longer than a day.
pub(super) fn secs_to_duration(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 || secs > MAX_RETRY_AFTER.as_secs_f64() {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

pub(super) fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") || v == "1" {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") || v == "0" {
        Some(false)
    } else {
        None
    }
}
