//! Together AI: open models behind an OpenAI-compatible API, with embeddings.

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "together",
    base_url: "https://api.together.xyz/v1",
    env_var: "TOGETHER_API_KEY",
    default_model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    default_embedding_model: Some("BAAI/bge-large-en-v1.5"),
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(together, PROFILE, "Together AI");
