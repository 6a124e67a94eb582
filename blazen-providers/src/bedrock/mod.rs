//! Amazon Bedrock Runtime, Converse API: `POST /model/{modelId}/converse` and
//! `/converse-stream` (binary AWS event-stream, CRC-checked; in-stream exceptions such as
//! `throttlingException` map to the error model).
//!
//! Authentication is a Bedrock API key sent as `Authorization: Bearer <key>` to
//! `https://bedrock-runtime.{region}.amazonaws.com` (no SigV4 signing).

mod convert;
mod wire;

use std::time::Instant;

use async_trait::async_trait;

use crate::error::Result;
use crate::eventstream::{event_stream_messages, Message};
use crate::http::{self, ApiKey, Auth};
use crate::model::{ChunkStream, CompletionModel, Provider};
use crate::native::{finish, fold_end_from_state, fold_events, post_cached, read_json, EventFold};
use crate::types::{CompletionRequest, CompletionResponse, StreamChunk};

pub(crate) const PROVIDER: &str = "bedrock";
const DEFAULT_MODEL: &str = "amazon.nova-lite-v1:0";
const ENV_KEY: &str = "AWS_BEARER_TOKEN_BEDROCK";
const ENV_REGIONS: [&str; 2] = ["AWS_REGION", "AWS_DEFAULT_REGION"];

/// The Bedrock provider behind [`CompletionModel::bedrock`].
#[derive(Debug, Clone)]
pub(crate) struct BedrockProvider {
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
    model: String,
    /// The default model's `converse` and `converse-stream` endpoints, prepared on first use
    /// (a clone prepares its own); a request naming another model prepares its endpoint
    /// each time.
    endpoints: [http::EndpointCache; 2],
}

/// Percent-encodes a model id or ARN for a path segment (`:` → `%3A`, `/` → `%2F`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl BedrockProvider {
    pub(crate) fn new(key: impl Into<String>, region: &str) -> Self {
        Self {
            client: http::HttpClient::new(),
            auth: Auth::Bearer(ApiKey::new(key.into())),
            base_url: format!("https://bedrock-runtime.{region}.amazonaws.com"),
            model: DEFAULT_MODEL.to_owned(),
            endpoints: Default::default(),
        }
    }

    async fn send(
        &self,
        req: &CompletionRequest,
        stream: bool,
    ) -> Result<(reqwest::Response, String)> {
        let model = req.model.clone().unwrap_or_else(|| self.model.clone());
        let body = convert::to_wire(req)?;
        let body = crate::http::json_body(&body)?;
        let action = if stream {
            "converse-stream"
        } else {
            "converse"
        };
        // The default model's endpoint is kept; another model's is prepared for this request.
        let cache = (model == self.model).then(|| &self.endpoints[usize::from(stream)]);
        let prepare = || {
            let url = format!(
                "{}/model/{}/{action}",
                self.base_url.trim_end_matches('/'),
                encode_segment(&model)
            );
            http::Endpoint::new(PROVIDER, &url, &self.auth, &[])
        };
        // Not an SSE request: the stream is AWS's binary event stream.
        let answer = if stream {
            http::Answer::EventStream
        } else {
            http::Answer::Json
        };
        let response = post_cached(&self.client, PROVIDER, cache, prepare, body, answer).await?;
        Ok((response, model))
    }
}

struct BedrockFold(convert::StreamState);

impl EventFold<Message> for BedrockFold {
    fn on_event(&mut self, message: Message) -> Result<Option<StreamChunk>> {
        match message.event_type() {
            Some(event) => {
                let event = event.to_owned();
                self.0.on_event(&event, &message.payload)
            }
            None => Ok(None),
        }
    }

    fold_end_from_state!();
}

#[async_trait]
impl Provider for BedrockProvider {
    crate::native::provider_basics!(PROVIDER);

    async fn complete(&self, request: CompletionRequest) -> Result<CompletionResponse> {
        let answer = async {
            let started = Instant::now();
            let (response, model) = self.send(&request, false).await?;
            let (wire, request_id) =
                read_json::<wire::ConverseResponse>(PROVIDER, response).await?;
            let out = convert::from_wire(wire, &model, convert::is_structured(&request));
            Ok(finish(out, request_id, started))
        };
        self.auth.scrub_result(answer.await)
    }

    async fn stream(&self, request: CompletionRequest) -> Result<ChunkStream> {
        let chunks = async {
            let structured = convert::is_structured(&request);
            let (response, _model) = self.send(&request, true).await?;
            let request_id = crate::error::request_id_from(response.headers());
            let messages = event_stream_messages(PROVIDER, response.bytes_stream());
            Ok(fold_events(
                messages,
                BedrockFold(convert::StreamState::new(structured)),
                request_id,
            ))
        };
        self.auth.scrub_stream(chunks.await)
    }
}

impl CompletionModel {
    /// Amazon Bedrock's Converse API in `region` (default model `amazon.nova-lite-v1:0`; any
    /// model id, inference profile id or ARN), authenticated with a Bedrock API key.
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::bedrock("bedrock-secret", "us-east-1")
    ///     .with_model("us.anthropic.claude-haiku-4-5-20251001-v1:0");
    /// assert_eq!(model.model_id(), "us.anthropic.claude-haiku-4-5-20251001-v1:0");
    /// assert!(!format!("{model:?}").contains("bedrock-secret"));
    /// ```
    pub fn bedrock(api_key: impl Into<String>, region: impl AsRef<str>) -> Self {
        Self::from_provider(BedrockProvider::new(api_key, region.as_ref()))
    }

    /// [`CompletionModel::bedrock`] with the key from `AWS_BEARER_TOKEN_BEDROCK` and the region
    /// from `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    ///
    /// # Errors
    /// [`BlazenError`](crate::BlazenError) Validation when a variable is unset.
    pub fn bedrock_from_env() -> Result<Self> {
        let key = crate::native::env_var(ENV_KEY)?;
        let region = crate::native::env_var(ENV_REGIONS[0])
            .or_else(|_| crate::native::env_var(ENV_REGIONS[1]))?;
        Ok(Self::bedrock(key, region))
    }
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn model_ids_are_path_encoded() {
        assert_eq!(
            encode_segment("amazon.nova-lite-v1:0"),
            "amazon.nova-lite-v1%3A0"
        );
        assert_eq!(
            encode_segment("arn:aws:bedrock:us-east-1::foundation-model/x"),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx"
        );
    }
}
