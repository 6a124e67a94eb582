//! Any server speaking the OpenAI Chat Completions API (vLLM, llama.cpp, Ollama, LiteLLM, ...).

use crate::model::CompletionModel;
use crate::openai_compat::{AuthStyle, MaxTokensField, OpenAiCompat, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "openai_compatible",
    base_url: "http://localhost:8000/v1",
    env_var: "OPENAI_API_KEY",
    default_model: "default",
    default_embedding_model: Some("default"),
    auth: AuthStyle::OptionalBearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: true,
};

impl CompletionModel {
    /// Any OpenAI-compatible server at `base_url` (the URL before `/chat/completions`, e.g.
    /// `http://localhost:8000/v1`). An empty key sends no `Authorization` header. Name the
    /// model with `with_model`.
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::openai_compatible("http://localhost:11434/v1", "")
    ///     .with_model("llama3.2");
    /// assert_eq!(model.model_id(), "llama3.2");
    /// ```
    pub fn openai_compatible(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        CompletionModel::from_provider(OpenAiCompat::new(PROFILE, api_key).base_url_owned(base_url))
    }
}
