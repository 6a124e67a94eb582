//! The error classifier: status, headers and body of an HTTP error response become a
//! [`BlazenError`](blazen_providers::BlazenError) without panicking, and the API key a client
//! sent never appears in it (`Display`, `Debug`, message, raw body, details), even when the
//! server echoes it.
//!
//! Input: a first line `<status> <key>`, then header lines `name: value`, a blank line and
//! the body, as in HTTP. A status that does not parse is made from the line's bytes; a key
//! that does not look like one (at least 12 bytes of letters, digits and `-_.~+/=`, with a
//! letter and a digit) is replaced by a fixed key. A key with a `:` is a fal key
//! (`<id>:<secret>`, sent as `Authorization: Key …`), whose secret half is a secret too.

use blazen_providers::fuzzing::classify_http_error;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

const DEFAULT_KEY: &str = "fuzzKey-0a1b2c3d4e5f";

/// Whether `s` looks like a key (see the module docs): a short or word-like value could occur
/// in the error's own wording, which would be no leak.
fn looks_like_key(s: &str) -> bool {
    s.len() >= 12
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b))
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// One fuzz input: see the module docs.
pub fn run(data: &[u8]) {
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let first = String::from_utf8_lossy(first);
    let mut parts = first.trim_end_matches('\r').splitn(2, ' ');
    let status_text = parts.next().unwrap_or("");
    let status = status_text.parse::<u16>().unwrap_or_else(|_| {
        let sum = status_text.bytes().map(u32::from).sum::<u32>();
        u16::try_from(sum % 600).unwrap_or(500)
    });
    let key = parts.next().unwrap_or("").trim();
    let (fal, secrets): (bool, Vec<&str>) = match key.split_once(':') {
        Some((id, secret)) if looks_like_key(id) && looks_like_key(secret) => {
            (true, vec![key, secret])
        }
        _ if looks_like_key(key) => (false, vec![key]),
        _ => (false, vec![DEFAULT_KEY]),
    };
    let key = secrets[0];

    let (head, body) = match find(rest, b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii_start();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }

    let err = classify_http_error("fuzz", status, &headers, body, key, fal);
    let texts = [
        err.to_string(),
        format!("{err:?}"),
        err.message().to_owned(),
        err.raw_body().unwrap_or("").to_owned(),
        err.code().unwrap_or("").to_owned(),
        err.error_type().unwrap_or("").to_owned(),
        err.param().unwrap_or("").to_owned(),
        err.request_id().unwrap_or("").to_owned(),
        err.upstream_provider().unwrap_or("").to_owned(),
    ];
    let _ = (err.is_retryable(), err.retry_after(), err.status());
    for secret in &secrets {
        for text in &texts {
            assert!(
                !text.contains(secret),
                "the key {secret:?} is in the error: {text}"
            );
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
