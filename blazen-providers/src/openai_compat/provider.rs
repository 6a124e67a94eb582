//! `Provider` for the OpenAI-compatible family. `complete()` is measured hot-path code, fenced
//! here: it is written out rather than left to `#[async_trait]`, whose boxed future would hold
//! the request twice (the argument and the local it moves into), and `complete_request` returns
//! an `async move` block for the same reason.
//!
//! It pays on S3 of `benches/providers.rs` (small non-streaming requests, 64 in flight:
//! `s3_64_in_flight_blazen` against `s3_64_in_flight_floor`; BENCHMARKS.md, "S3, small
//! non-streaming requests", last row of its table): the boxed future went from 1,032 to 880
//! bytes and the client thread from 6.0 k to 5.8 k instructions per request above the floor,
//! part of the steps that brought S3 throughput to 0.92× the floor (target ≥ 0.9×).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::FutureExt;

use super::wire::ChatResponse;
use super::{convert_response, stream, OpenAiCompat};
use crate::error::{BlazenError, Result};
use crate::http;
use crate::model::{ChunkStream, Provider};
use crate::types::{CompletionRequest, CompletionResponse};

impl OpenAiCompat {
    /// [`Provider::complete`]: a function returning an `async move` block, so that the
    /// request is stored once in the future.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store `request` twice"
    )]
    fn complete_request(
        &self,
        request: CompletionRequest,
    ) -> impl Future<Output = Result<CompletionResponse>> + Send + '_ {
        async move {
            let started = Instant::now();
            let response = self.post(&request, false).await?;
            let request_id = crate::error::request_id_from(response.headers());
            // A gateway's cost header (LiteLLM) counts when the body reports none.
            let header_cost = crate::error::cost_from(response.headers());
            let body = http::read_body(&self.provider_name, response).await?;
            let wire: ChatResponse = serde_json::from_slice(&body).map_err(|e| {
                BlazenError::invalid_response(
                    &self.provider_name,
                    format!("the response is not a chat completion: {e}"),
                    &body,
                )
            })?;
            let fallback = request.model.as_deref().unwrap_or(&self.model);
            let mut out = convert_response(&self.provider_name, wire, fallback)?;
            out.request_id = request_id;
            out.cost = out.cost.or(header_cost);
            Ok(crate::pricing::finish_response(out, started))
        }
    }

    /// [`Provider::stream`] before its errors are scrubbed.
    async fn stream_request(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let response = self.post(&request, true).await?;
        let header_cost = crate::error::cost_from(response.headers());
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if is_json {
            // Some gateways answer a stream request with one JSON body: an error envelope
            // (with status 200) or a whole completion. Report the error, or hand the
            // completion out as one final chunk.
            let body = http::read_body(&self.provider_name, response).await?;
            let wire: ChatResponse = serde_json::from_slice(&body).map_err(|e| {
                BlazenError::invalid_response(
                    &self.provider_name,
                    format!("a JSON answer to a stream request is not a completion: {e}"),
                    &body,
                )
            })?;
            let fallback = request.model.as_deref().unwrap_or(&self.model);
            let r = convert_response(&self.provider_name, wire, fallback)?;
            let chunk = crate::types::StreamChunk {
                delta: r.content,
                finish_reason: Some(r.finish_reason.unwrap_or_else(|| "stop".to_owned())),
                tool_calls: r.tool_calls,
                usage: r.usage,
                reasoning: r.reasoning,
                cost: r.cost.or(header_cost),
                ..crate::types::StreamChunk::default()
            };
            return Ok(Box::pin(futures::stream::iter([Ok(chunk)])));
        }
        let events = http::sse_events(&self.provider_name, response);
        let chunks = stream::CompatStream::new(self.provider_name.clone(), events);
        Ok(match header_cost {
            None => Box::pin(chunks),
            // The final chunk carries the gateway's cost when the stream reports none.
            Some(cost) => Box::pin(futures::StreamExt::map(chunks, move |item| {
                item.map(|mut chunk| {
                    if chunk.finish_reason.is_some() && chunk.cost.is_none() {
                        chunk.cost = Some(cost);
                    }
                    chunk
                })
            })),
        })
    }
}

#[async_trait]
impl Provider for OpenAiCompat {
    fn name(&self) -> &str {
        &self.provider_name
    }

    fn model_id(&self) -> &str {
        &self.model
    }

    // Written out rather than left to `async_trait`, whose future would hold the request
    // twice (the argument and the local it moves into): see `complete_request`.
    fn complete<'life0, 'async_trait>(
        &'life0 self,
        request: CompletionRequest,
    ) -> Pin<Box<dyn Future<Output = Result<CompletionResponse>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        // Every error leaves through the key's scrubbing point (`Auth::scrub`); the auth is
        // built on the error path only.
        Box::pin(
            self.complete_request(request)
                .map(|r| r.map_err(|e| self.auth().scrub(e))),
        )
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        self.auth().scrub_stream(self.stream_request(request).await)
    }

    fn with_model(&self, model: &str) -> Arc<dyn Provider> {
        let mut p = self.clone();
        if let Some(az) = &mut p.azure {
            az.deployment = model.to_owned();
        }
        p.model = model.to_owned();
        Arc::new(p)
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn Provider> {
        Arc::new(self.clone().base_url_owned(base_url))
    }
}
