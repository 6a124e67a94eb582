//! xAI: Grok models.

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "xai",
    base_url: "https://api.x.ai/v1",
    env_var: "XAI_API_KEY",
    default_model: "grok-3-mini",
    default_embedding_model: None,
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: true,
};

super::compat_provider!(xai, PROFILE, "xAI");
