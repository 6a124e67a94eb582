//! OpenAI: the reference Chat Completions API.

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "openai",
    base_url: "https://api.openai.com/v1",
    env_var: "OPENAI_API_KEY",
    default_model: "gpt-4.1-mini",
    default_embedding_model: Some("text-embedding-3-small"),
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxCompletionTokens,
    stream_usage: true,
    strict_tools: true,
    json_schema: true,
};

super::compat_provider!(openai, PROFILE, "OpenAI");
