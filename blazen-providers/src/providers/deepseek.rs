//! DeepSeek: DeepSeek's chat and reasoner models (the reasoner streams `reasoning_content`).

use crate::openai_compat::{AuthStyle, MaxTokensField, Profile};

pub(crate) const PROFILE: Profile = Profile {
    name: "deepseek",
    base_url: "https://api.deepseek.com",
    env_var: "DEEPSEEK_API_KEY",
    default_model: "deepseek-chat",
    default_embedding_model: None,
    auth: AuthStyle::Bearer,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: false,
};

super::compat_provider!(deepseek, PROFILE, "DeepSeek");
