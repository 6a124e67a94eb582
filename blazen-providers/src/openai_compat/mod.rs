//! The OpenAI Chat Completions wire format, shared by the whole OpenAI-compatible family.
//!
//! One implementation, configured by a [`Profile`] per provider (base URL, key variable, default
//! model, auth and quirks); each provider of the family is a profile in `providers/<name>.rs`.

pub(crate) mod chunk;
mod provider;
pub(crate) mod stream;
pub(crate) mod wire;

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::{BlazenError, Result};
use crate::http::{self, ApiKey, Auth};
use crate::types::secs_to_ms;
use crate::types::{
    ChatMessage, CompletionRequest, CompletionResponse, ContentPart, MediaOutput, MediaType,
    RequestTiming, ResponseFormat, Role, ToolCall, ToolChoice, ToolDialect,
};
use wire::{
    ChatRequest, ChatResponse, StreamOptions, WireContent, WireFunctionDef, WireFunctionOut,
    WireMessage, WireMessages, WireTool, WireToolCallOut,
};

/// How a provider of the family authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthStyle {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `api-key: <key>` (Azure OpenAI).
    ApiKeyHeader,
    /// `Authorization: Key <key>` (fal).
    KeyScheme,
    /// `Authorization: Bearer <key>`, or nothing with an empty key (servers without auth).
    OptionalBearer,
}

/// Which field carries the output token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaxTokensField {
    /// `max_tokens` (most compatible servers).
    MaxTokens,
    /// `max_completion_tokens` (OpenAI; required by reasoning models).
    MaxCompletionTokens,
}

/// What distinguishes one provider of the OpenAI-compatible family from another.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Profile {
    /// Provider name, as errors report it.
    pub(crate) name: &'static str,
    /// Base URL, without the trailing `/chat/completions`.
    pub(crate) base_url: &'static str,
    /// The conventional environment variable holding the key.
    pub(crate) env_var: &'static str,
    /// The model used when none is given.
    pub(crate) default_model: &'static str,
    /// The default embedding model, when the provider has embeddings.
    pub(crate) default_embedding_model: Option<&'static str>,
    pub(crate) auth: AuthStyle,
    pub(crate) max_tokens_field: MaxTokensField,
    /// Whether to ask for usage on streams (`stream_options.include_usage`); providers that
    /// reject the option report usage on their own.
    pub(crate) stream_usage: bool,
    /// Whether tools are sent with `strict: true` and the strict schema dialect.
    pub(crate) strict_tools: bool,
    /// Whether the server takes `response_format: json_schema`; without it a schema goes into
    /// the prompt with JSON mode ([`CompletionRequest::schema_in_prompt`]).
    pub(crate) json_schema: bool,
}

/// A provider of the OpenAI-compatible family.
#[derive(Clone)]
pub(crate) struct OpenAiCompat {
    pub(crate) profile: Profile,
    provider_name: Arc<str>,
    client: http::HttpClient,
    key: ApiKey,
    base_url: String,
    model: String,
    /// Azure: the deployment path and the api-version query.
    azure: Option<AzureTarget>,
    extra_headers: Vec<(&'static str, String)>,
    /// The chat endpoint, prepared on first use (a clone prepares its own).
    chat: http::EndpointCache,
}

#[derive(Debug, Clone)]
pub(crate) struct AzureTarget {
    pub(crate) deployment: String,
    pub(crate) api_version: String,
}

impl fmt::Debug for OpenAiCompat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionModel")
            .field("provider", &self.profile.name)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.key)
            .finish()
    }
}

impl OpenAiCompat {
    pub(crate) fn new(profile: Profile, key: impl Into<String>) -> Self {
        OpenAiCompat {
            profile,
            provider_name: Arc::from(profile.name),
            client: http::HttpClient::new(),
            key: ApiKey::new(key.into()),
            base_url: profile.base_url.to_owned(),
            model: profile.default_model.to_owned(),
            azure: None,
            extra_headers: Vec::new(),
            chat: http::EndpointCache::default(),
        }
    }

    /// Builders run on a new or a cloned provider: its chat endpoint is not prepared yet.
    pub(crate) fn base_url_owned(mut self, url: impl Into<String>) -> Self {
        debug_assert!(
            self.chat.is_empty(),
            "re-targeting a provider that already sent"
        );
        self.base_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    pub(crate) fn model_owned(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    pub(crate) fn azure(mut self, target: AzureTarget) -> Self {
        debug_assert!(
            self.chat.is_empty(),
            "re-targeting a provider that already sent"
        );
        self.azure = Some(target);
        self
    }

    pub(crate) fn key(&self) -> &ApiKey {
        &self.key
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn client(&self) -> &http::HttpClient {
        &self.client
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.provider_name
    }

    pub(crate) fn auth(&self) -> Auth {
        match self.profile.auth {
            AuthStyle::Bearer => Auth::Bearer(self.key.clone()),
            AuthStyle::OptionalBearer if self.key.is_empty() => Auth::None,
            AuthStyle::OptionalBearer => Auth::Bearer(self.key.clone()),
            AuthStyle::ApiKeyHeader => Auth::Header("api-key", self.key.clone()),
            AuthStyle::KeyScheme => Auth::KeyScheme(self.key.clone()),
        }
    }

    pub(crate) fn extra_headers(&self) -> &[(&'static str, String)] {
        &self.extra_headers
    }

    /// The URL of an endpoint (`"chat/completions"`, `"embeddings"`).
    pub(crate) fn endpoint(&self, path: &str) -> String {
        match &self.azure {
            Some(az) => format!(
                "{}/openai/deployments/{}/{}?api-version={}",
                self.base_url, az.deployment, path, az.api_version
            ),
            None => format!("{}/{}", self.base_url, path),
        }
    }

    fn build_body(&self, req: &CompletionRequest, stream: bool) -> Result<Vec<u8>> {
        if !self.profile.json_schema
            && req
                .response_format
                .as_ref()
                .is_some_and(|f| f.schema_name().is_some())
        {
            return self.build_body(&req.clone().schema_in_prompt(), stream);
        }
        let model = req.model.as_deref().unwrap_or(&self.model);
        let (max_tokens, max_completion_tokens) = match self.profile.max_tokens_field {
            MaxTokensField::MaxTokens => (req.max_tokens, None),
            MaxTokensField::MaxCompletionTokens => (None, req.max_tokens),
        };
        let body = ChatRequest {
            model: if self.azure.is_some() {
                None
            } else {
                Some(model)
            },
            messages: WireMessages(&req.messages),
            temperature: req.temperature,
            top_p: req.top_p,
            max_tokens,
            max_completion_tokens,
            stop: &req.stop,
            tools: req
                .tools
                .iter()
                .map(|t| {
                    // Strict mode only for schemas rewritten for it (a `ToolDef`'s strict
                    // dialect); a hand-written schema may not meet strict mode's rules.
                    let strict = self.profile.strict_tools && t.openai_strict.is_some();
                    let dialect = if strict {
                        ToolDialect::OpenAiStrict
                    } else {
                        ToolDialect::OpenAi
                    };
                    WireTool {
                        kind: "function",
                        function: WireFunctionDef {
                            name: &t.name,
                            description: &t.description,
                            parameters: t.parameters_for(dialect),
                            strict: strict.then_some(true),
                        },
                    }
                })
                .collect(),
            tool_choice: req.tool_choice.as_ref().map(wire_tool_choice),
            response_format: req.response_format.as_ref().map(wire_response_format),
            parallel_tool_calls: if req.tools.is_empty() {
                None
            } else {
                req.parallel_tool_calls
            },
            stream,
            stream_options: (stream && self.profile.stream_usage).then_some(StreamOptions {
                include_usage: true,
            }),
        };
        http::json_body(&body)
    }

    async fn post(&self, req: &CompletionRequest, stream: bool) -> Result<reqwest::Response> {
        let body = self.build_body(req, stream)?;
        http::post_to(
            &self.client,
            &self.provider_name,
            self.chat()?,
            body,
            http::Answer::sse_if(stream),
        )
        .await
    }

    /// The chat completions endpoint, prepared once per model (URL parsed, headers built).
    fn chat(&self) -> Result<&http::Endpoint> {
        self.chat.get_or_prepare(|| {
            http::Endpoint::new(
                &self.provider_name,
                &self.endpoint("chat/completions"),
                &self.auth(),
                &self.extra_headers,
            )
        })
    }
}

pub(crate) fn wire_message(m: &ChatMessage) -> WireMessage<'_> {
    let content = if !m.parts.is_empty() {
        Some(WireContent::Parts(m.parts.iter().map(wire_part).collect()))
    } else {
        m.content.as_deref().map(WireContent::Text)
    };
    let content = match (content, m.role) {
        // A tool message must carry content, even empty.
        (None, Role::Tool) => Some(WireContent::Text("")),
        (c, _) => c,
    };
    WireMessage {
        role: m.role.as_str(),
        content,
        tool_calls: m
            .tool_calls
            .iter()
            .map(|c| WireToolCallOut {
                id: &c.id,
                kind: "function",
                function: WireFunctionOut {
                    name: &c.name,
                    arguments: c.arguments_json(),
                },
            })
            .collect(),
        tool_call_id: m.tool_call_id.as_deref(),
        name: m.name.as_deref(),
    }
}

fn wire_part(p: &ContentPart) -> Value {
    match p {
        ContentPart::Text { text } => json!({"type": "text", "text": text}),
        ContentPart::ImageUrl { url, .. } => {
            json!({"type": "image_url", "image_url": {"url": url}})
        }
        ContentPart::ImageBase64 { data, media_type } => json!({
            "type": "image_url",
            "image_url": {"url": format!("data:{};base64,{}", media_type.as_str(), data)},
        }),
    }
}

fn wire_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn wire_response_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => json!({
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        }),
        ResponseFormat::Structured(spec) => {
            // Strict whenever strict mode can express the schema, plain otherwise.
            let (schema, strict) = f
                .schema_for(ToolDialect::OpenAiStrict)
                .unwrap_or((&spec.parameters, false));
            let mut format = json!({"name": spec.name, "schema": schema, "strict": strict});
            if !spec.description.is_empty() {
                format["description"] = json!(spec.description);
            }
            json!({"type": "json_schema", "json_schema": format})
        }
        // `JsonObject`, and any format added later: plain JSON mode.
        _ => json!({"type": "json_object"}),
    }
}

/// The MIME type of a `data:` URL.
fn data_url_media_type(url: &str) -> Option<MediaType> {
    let rest = url.strip_prefix("data:")?;
    let end = rest.find([';', ','])?;
    Some(MediaType::new(&rest[..end]))
}

/// The typed error of an `error` member in a 200 answer (gateways send error envelopes with
/// status 200); `None` when absent or empty (`{}`, `""` or `false` is what some proxies put in
/// every normal answer).
pub(crate) fn error_member(provider: &str, error: Option<&Value>) -> Option<BlazenError> {
    let err = error.filter(|e| crate::error::is_error_value(e))?;
    Some(
        BlazenError::from_stream_frame(provider, &json!({ "error": err })).unwrap_or_else(|| {
            BlazenError::invalid_response(provider, "error in a 200 response", err.to_string())
        }),
    )
}

/// Converts a parsed response into a [`CompletionResponse`].
pub(crate) fn convert_response(
    provider: &str,
    wire: ChatResponse,
    fallback_model: &str,
) -> Result<CompletionResponse> {
    if let Some(err) = error_member(provider, wire.error.as_ref()) {
        return Err(err);
    }
    let choice = wire
        .choices
        .into_iter()
        .find(|c| c.index == 0)
        .ok_or_else(|| BlazenError::no_content(provider))?;
    let message = choice.message;
    let mut out = CompletionResponse {
        model: wire.model.unwrap_or_else(|| fallback_model.to_owned()),
        finish_reason: choice.finish_reason,
        ..CompletionResponse::default()
    };
    if let Some(m) = message {
        out.content = m.content.map(|t| t.0).or(m.refusal);
        out.reasoning = m.reasoning_content.or(m.reasoning);
        out.tool_calls = m
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let (name, raw) = match c.function {
                    Some(f) => {
                        let mut raw = String::new();
                        if let Some(a) = f.arguments {
                            a.push_to(&mut raw);
                        }
                        (f.name.unwrap_or_default(), raw)
                    }
                    None => (String::new(), String::new()),
                };
                ToolCall::from_raw(c.id.unwrap_or_else(|| format!("call_{i}")), name, &raw)
            })
            .collect();
        out.images = m
            .images
            .unwrap_or_default()
            .into_iter()
            .map(|img| {
                let url = img
                    .pointer("/image_url/url")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let media_type = url.as_deref().and_then(data_url_media_type);
                MediaOutput {
                    url,
                    media_type,
                    metadata: img,
                    ..MediaOutput::default()
                }
            })
            .collect();
        if let Some(audio) = m.audio {
            out.audio.push(MediaOutput {
                base64: audio.get("data").and_then(Value::as_str).map(str::to_owned),
                metadata: audio,
                ..MediaOutput::default()
            });
        }
    }
    if let Some(u) = &wire.usage {
        out.usage = Some(u.to_usage());
        out.cost = u.reported_cost();
        let queue_ms = u.queue_time.and_then(secs_to_ms);
        let execution_ms = u.total_time.and_then(secs_to_ms);
        if queue_ms.is_some() || execution_ms.is_some() {
            out.timing = Some(RequestTiming {
                queue_ms,
                execution_ms,
                total_ms: None,
            });
        }
    }
    Ok(out)
}
