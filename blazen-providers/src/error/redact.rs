//! Secrets: [`SecretString`] (a key whose `Debug` prints `[REDACTED]`) and the scrubbing of
//! messages and bodies ([`redact`]: a known key and secret-looking patterns).

use std::borrow::Cow;
use std::fmt;

use super::BlazenError;

/// What replaces a secret in messages and bodies.
pub(super) const REDACTED: &str = "[REDACTED]";

/// An API key or other secret. `Debug` prints `[REDACTED]`; there is no `Display`, so it cannot
/// end up in a format string by accident. Read it with [`SecretString::expose_secret`].
///
/// ```
/// use blazen_providers::error::SecretString;
///
/// let key = SecretString::from("sk-live-1234567890abcdef");
/// assert_eq!(format!("{key:?}"), "[REDACTED]");
/// assert_eq!(key.expose_secret(), "sk-live-1234567890abcdef");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    ///
    /// ```
    /// # use blazen_providers::error::SecretString;
    /// let key = SecretString::new(String::from("k"));
    /// # let _ = key;
    /// ```
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the one place that must send it (an HTTP header).
    ///
    /// ```
    /// # use blazen_providers::error::SecretString;
    /// assert_eq!(SecretString::from("k").expose_secret(), "k");
    /// ```
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (no key configured).
    ///
    /// ```
    /// # use blazen_providers::error::SecretString;
    /// assert!(SecretString::from("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Replaces every occurrence of the known `secret` (if at least 4 bytes long) and every
/// secret-looking pattern with `[REDACTED]`.
///
/// ```
/// use blazen_providers::error::redact;
///
/// let text = "bad key sk-abcdefghijklmnop, header Bearer xyz.123, my-own-secret";
/// let clean = redact(text, Some("my-own-secret"));
/// assert!(!clean.contains("abcdefghijklmnop"));
/// assert!(!clean.contains("xyz.123"));
/// assert!(!clean.contains("my-own-secret"));
/// ```
pub fn redact(text: &str, secret: Option<&str>) -> String {
    let known = match secret {
        Some(s) => redact_known(text, s),
        None => Cow::Borrowed(text),
    };
    redact_patterns(&known)
}

fn redact_known<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    if secret.len() >= 4 && text.contains(secret) {
        Cow::Owned(text.replace(secret, REDACTED))
    } else {
        Cow::Borrowed(text)
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// Scrubs secret-looking patterns: `Bearer <token>`, `Key <id>:<secret>` (fal's scheme),
/// `sk-…` / `sk_…` keys, Google `AIza…` keys and `key=…` / `api_key=…` query parameters.
/// Linear in the input.
pub(super) fn redact_patterns(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already handled
    let mut i = 0;
    while i < bytes.len() {
        let prev_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        // (token start, whether the token may hold a `:`)
        let hit: Option<(usize, bool)> = if prev_ok && starts_with_ci(&bytes[i..], b"bearer ") {
            Some((i + 7, false))
        } else if prev_ok
            && (((bytes[i..].starts_with(b"sk-") || bytes[i..].starts_with(b"sk_"))
                && token_len(bytes, i + 3) >= 8)
                || (bytes[i..].starts_with(b"AIza") && token_len(bytes, i + 4) >= 20))
        {
            Some((i, false))
        } else if prev_ok && bytes[i..].starts_with(b"Key ") && is_id_secret(bytes, i + 4) {
            Some((i + 4, true))
        } else if (i > 0 && matches!(bytes[i - 1], b'?' | b'&'))
            && (bytes[i..].starts_with(b"key=") || bytes[i..].starts_with(b"api_key="))
        {
            Some((i + if bytes[i] == b'k' { 4 } else { 8 }, false))
        } else {
            None
        };
        if let Some((token_start, colon)) = hit {
            let len = if colon {
                id_secret_len(bytes, token_start)
            } else {
                token_len(bytes, token_start)
            };
            if len > 0 {
                // All boundaries here are ASCII bytes, hence char boundaries.
                out.push_str(&text[copied..token_start]);
                out.push_str(REDACTED);
                i = token_start + len;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether a token of the `<id>:<secret>` shape of fal keys starts at `start`: at least 16
/// bytes with a `:` inside (a word after "Key " in prose is not one).
fn is_id_secret(bytes: &[u8], start: usize) -> bool {
    let len = id_secret_len(bytes, start);
    len >= 16 && bytes[start..start + len].contains(&b':')
}

fn id_secret_len(bytes: &[u8], start: usize) -> usize {
    bytes.get(start..).map_or(0, |rest| {
        rest.iter()
            .take_while(|&&b| is_token_byte(b) || b == b':')
            .count()
    })
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn token_len(bytes: &[u8], start: usize) -> usize {
    bytes.get(start..).map_or(0, |rest| {
        rest.iter().take_while(|&&b| is_token_byte(b)).count()
    })
}

impl BlazenError {
    /// Scrubs one known secret (the API key that was sent) from every text an error carries:
    /// the message, the raw body and each detail a server sent (code, type, param, request id,
    /// upstream provider), since a server that echoes the request may put the key in any of them.
    pub(crate) fn redact_secret(mut self, secret: &SecretString) -> Self {
        let key = secret.expose_secret();
        if let Some(m) = self.message_mut() {
            scrub_in_place(m, key);
        }
        let d = self.details_mut();
        for field in [
            &mut d.raw_body,
            &mut d.code,
            &mut d.error_type,
            &mut d.param,
            &mut d.request_id,
            &mut d.upstream_provider,
        ]
        .into_iter()
        .flatten()
        {
            scrub_in_place(field, key);
        }
        self
    }
}

/// Replaces `secret` in `text` (nothing is allocated when it is absent).
fn scrub_in_place(text: &mut String, secret: &str) {
    if let Cow::Owned(r) = redact_known(text, secret) {
        *text = r;
    }
}
