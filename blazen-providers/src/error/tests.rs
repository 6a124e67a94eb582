//! Tests of the error model: envelopes, the code table, retry delays, redaction.

use super::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn resp(status: u16, body: &str) -> BlazenError {
    BlazenError::from_response("openai", status, &HeaderMap::new(), body.as_bytes())
}

#[test]
fn openai_envelope_keeps_every_field() {
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded","param":null}}"#;
    let h = headers(&[("x-request-id", "req_123"), ("retry-after", "2")]);
    let err = BlazenError::from_response("openai", 429, &h, body.as_bytes());
    assert_eq!(err.kind(), Kind::RateLimit);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some("rate_limit_exceeded"));
    assert_eq!(err.error_type(), Some("requests"));
    assert_eq!(err.provider(), Some("openai"));
    assert_eq!(err.request_id(), Some("req_123"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(err.raw_body(), Some(body));
    assert!(err.is_retryable());
    assert!(err
        .to_string()
        .starts_with("rate limited: retry after 2000ms: Rate limit reached"));
}
