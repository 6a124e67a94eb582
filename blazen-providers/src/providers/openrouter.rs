//! OpenRouter: a gateway to many providers' models (model ids are `vendor/model`).

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "openrouter",
    base_url: "https://openrouter.ai/api/v1",
    env_var: "OPENROUTER_API_KEY",
    default_model: "openai/gpt-4.1-mini",
    default_embedding_model: Some("openai/text-embedding-3-small"),
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(openrouter, PROFILE, "OpenRouter");
