//! The recorded traffic of `tests/fixtures/` (see its README for each file's source).

use base64::Engine as _;
use serde_json::Value;

/// The text of `tests/fixtures/<path>`.
pub(crate) fn text(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read fixture {full}: {e}"))
}

/// `tests/fixtures/<path>` as JSON.
pub(crate) fn json(path: &str) -> Value {
    serde_json::from_str(&text(path)).unwrap_or_else(|e| panic!("bad fixture {path}: {e}"))
}

/// A recorded base64 body (line breaks allowed) as bytes.
pub(crate) fn base64(encoded: &str) -> Vec<u8> {
    let joined: String = encoded.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(joined)
        .expect("recorded base64")
}
