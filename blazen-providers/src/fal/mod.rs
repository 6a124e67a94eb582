//! fal: the LLM endpoint (`CompletionModel::fal`) and the media queue (`ComputeModel::fal`).
//!
//! The LLM endpoint is fal's OpenAI-compatible router (`https://fal.run/openrouter/router/openai/v1`,
//! models named as on OpenRouter, e.g. `google/gemini-2.5-flash`), so it reuses the
//! OpenAI-compatible client. Media jobs go through fal's queue (`https://queue.fal.run`).
//! Both authenticate with `Authorization: Key <FAL_KEY>`.

mod compute;
mod queue;

use crate::compute::ComputeModel;
use crate::error::Result;
use crate::http::{ApiKey, Auth};
use crate::model::CompletionModel;
use crate::openai_compat::{AuthStyle, MaxTokensField, OpenAiCompat, Profile};

pub(crate) const PROVIDER: &str = "fal";
const ENV_KEY: &str = "FAL_KEY";

/// fal's OpenAI-compatible LLM router, with fal's `Authorization: Key …` scheme.
const LLM_PROFILE: Profile = Profile {
    name: "fal",
    base_url: "https://fal.run/openrouter/router/openai/v1",
    env_var: ENV_KEY,
    default_model: "google/gemini-2.5-flash",
    default_embedding_model: None,
    auth: AuthStyle::KeyScheme,
    max_tokens_field: MaxTokensField::MaxTokens,
    stream_usage: true,
    strict_tools: false,
    json_schema: true,
};

fn key_auth(key: &str) -> Auth {
    Auth::KeyScheme(ApiKey::new(key.to_owned()))
}

impl CompletionModel {
    /// fal's LLM router (OpenAI-compatible; default model `google/gemini-2.5-flash`, any
    /// OpenRouter model name works).
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let model = CompletionModel::fal("fal-secret").with_model("anthropic/claude-sonnet-4.5");
    /// assert_eq!(model.model_id(), "anthropic/claude-sonnet-4.5");
    /// assert!(!format!("{model:?}").contains("fal-secret"));
    /// ```
    pub fn fal(api_key: impl Into<String>) -> Self {
        Self::from_provider(OpenAiCompat::new(LLM_PROFILE, api_key))
    }

    /// [`CompletionModel::fal`] with the key from `FAL_KEY`.
    ///
    /// # Errors
    /// [`BlazenError`](crate::BlazenError) Validation when the variable is unset.
    pub fn fal_from_env() -> Result<Self> {
        crate::native::env_var(ENV_KEY).map(Self::fal)
    }
}

impl ComputeModel {
    /// Media jobs on fal's queue. Default endpoints: images `fal-ai/flux/dev`, upscale
    /// `fal-ai/esrgan`, video `fal-ai/kling-video/v2.1/master/{text,image}-to-video`, speech
    /// `fal-ai/kokoro/american-english` (`fal-ai/f5-tts` with a voice sample), music
    /// `fal-ai/stable-audio`, transcription `fal-ai/whisper`, 3D
    /// `tripo3d/tripo/v2.5/text-to-3d` (`fal-ai/trellis` from an image); a request's `model`
    /// names any other endpoint.
    ///
    /// ```
    /// use blazen_providers::ComputeModel;
    /// let media = ComputeModel::fal("fal-secret");
    /// assert_eq!(media.provider_name(), "fal");
    /// assert!(!format!("{media:?}").contains("fal-secret"));
    /// ```
    pub fn fal(api_key: impl Into<String>) -> Self {
        let key: String = api_key.into();
        Self::from_backend(queue::FalQueue::new(key_auth(&key)))
    }

    /// [`ComputeModel::fal`] with the key from `FAL_KEY`.
    ///
    /// # Errors
    /// [`BlazenError`](crate::BlazenError) Validation when the variable is unset.
    pub fn fal_from_env() -> Result<Self> {
        crate::native::env_var(ENV_KEY).map(Self::fal)
    }
}
