//! Reading response bodies: whole (bounded) for answers, capped for error bodies, each read
//! bounded by [`IDLE_TIMEOUT`](super::IDLE_TIMEOUT).

use std::future::Future;

use bytes::Bytes;
use reqwest::Response;

use super::idle_limited;
use crate::error::{BlazenError, Result};

/// Largest response body read into memory for a non-streaming answer (64 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Reads a whole body, keeping at most `limit` bytes (the rest is not read).
pub(crate) fn read_capped(
    provider: &str,
    response: Response,
    limit: usize,
) -> impl Future<Output = Result<Bytes>> + '_ {
    read_limited(provider, response, limit, Over::Truncate)
}

/// Reads a successful response's whole body (up to [`MAX_BODY_BYTES`]).
pub(crate) fn read_body(
    provider: &str,
    response: Response,
) -> impl Future<Output = Result<Bytes>> + '_ {
    read_limited(provider, response, MAX_BODY_BYTES, Over::Fail)
}

/// What [`read_limited`] does with a body over its limit.
#[derive(Clone, Copy)]
pub(super) enum Over {
    /// Keeps the first `limit` bytes.
    Truncate,
    /// Fails: a successful answer cut short would be a wrong answer.
    Fail,
}

/// Reads a body up to `limit` bytes, each read bounded by [`IDLE_TIMEOUT`](super::IDLE_TIMEOUT).
///
/// A function returning an `async move` block rather than an `async fn`, and `read_body` and
/// `read_capped` are this future itself: an `async fn` keeps both its argument and the local it
/// moves into, and each layer would add another copy of the response to every request's future.
/// Measured by S3 of `benches/providers.rs` (BENCHMARKS.md, S3 table: "smaller request
/// futures").
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store `response` twice"
)]
pub(super) fn read_limited(
    provider: &str,
    mut response: Response,
    limit: usize,
    over: Over,
) -> impl Future<Output = Result<Bytes>> + '_ {
    async move {
        let mut body = BodyBuf::default();
        // One await point, so that the future holds one read's state, not one per call site.
        // (A read error is never one of reqwest's timeouts: the client sets none for bodies.)
        while let Some(mut piece) = idle_limited(provider, response.chunk())
            .await?
            .map_err(|e| BlazenError::from_reqwest(provider, e))?
        {
            let room = limit - body.len();
            if piece.len() <= room {
                body.push(piece);
                continue;
            }
            piece.truncate(room);
            body.push(piece);
            let body = body.into_bytes();
            return match over {
                Over::Truncate => Ok(body),
                Over::Fail => Err(BlazenError::invalid_response(
                    provider,
                    format!("the response body exceeds the limit of {limit} bytes"),
                    &body[..crate::error::RAW_BODY_LIMIT.min(body.len())],
                )),
            };
        }
        Ok(body.into_bytes())
    }
}

/// A body read piece by piece: the first piece is kept as it came, so a body of one piece (the
/// usual small answer) is never copied; later pieces are joined.
#[derive(Default)]
struct BodyBuf {
    first: Bytes,
    joined: Vec<u8>,
}

impl BodyBuf {
    fn len(&self) -> usize {
        self.first.len() + self.joined.len()
    }

    fn push(&mut self, piece: Bytes) {
        if self.len() == 0 {
            self.first = piece;
            return;
        }
        if self.joined.is_empty() {
            self.joined.reserve(self.first.len() + piece.len());
            self.joined
                .extend_from_slice(&std::mem::take(&mut self.first));
        }
        self.joined.extend_from_slice(&piece);
    }

    fn into_bytes(self) -> Bytes {
        if self.joined.is_empty() {
            self.first
        } else {
            Bytes::from(self.joined)
        }
    }
}
