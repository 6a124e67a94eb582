//! The OpenAI-compatible family: one [`Profile`] per provider, one line of constructor each.
//!
//! Adding a provider of the family is a new file with its profile and one `compat_provider!`
//! line, plus its entry in [`PROFILES`].

use crate::error::{BlazenError, Result};
use crate::model::CompletionModel;
use crate::native::env_var;
use crate::openai_compat::{OpenAiCompat, Profile};

mod azure;
mod deepseek;
mod fireworks;
mod groq;
mod mistral;
mod openai;
mod openai_compatible;
mod openrouter;
mod perplexity;
mod together;
mod xai;

/// Every profile of the family, for [`CompletionModel::from_env`] and the embedding models.
pub(crate) const PROFILES: &[Profile] = &[
    openai::PROFILE,
    openrouter::PROFILE,
    groq::PROFILE,
    together::PROFILE,
    mistral::PROFILE,
    deepseek::PROFILE,
    fireworks::PROFILE,
    perplexity::PROFILE,
    xai::PROFILE,
];

/// The profile named `name`.
pub(crate) fn profile(name: &str) -> Option<Profile> {
    PROFILES.iter().copied().find(|p| p.name == name)
}

pub(crate) use fireworks::PROFILE as FIREWORKS;
pub(crate) use mistral::PROFILE as MISTRAL;
pub(crate) use openai::PROFILE as OPENAI;
pub(crate) use openai_compatible::PROFILE as OPENAI_COMPATIBLE;
pub(crate) use openrouter::PROFILE as OPENROUTER;
pub(crate) use together::PROFILE as TOGETHER;

/// Defines `CompletionModel::$ctor(api_key)` for a profile, with a doctest.
macro_rules! compat_provider {
    ($ctor:ident, $profile:expr, $title:literal) => {
        impl $crate::model::CompletionModel {
            #[doc = concat!("A ", $title, " model with the provider's default model, base URL and auth.")]
            ///
            /// The key is never shown by `Debug`. Change the model with `with_model`, the server
            /// with `with_base_url`.
            ///
            /// ```
            /// use blazen_providers::CompletionModel;
            #[doc = concat!("let model = CompletionModel::", stringify!($ctor), "(\"key\");")]
            #[doc = concat!("assert_eq!(model.provider_name(), \"", stringify!($ctor), "\");")]
            /// assert!(!model.model_id().is_empty());
            /// ```
            pub fn $ctor(api_key: impl Into<String>) -> Self {
                $crate::model::CompletionModel::from_provider(
                    $crate::openai_compat::OpenAiCompat::new($profile, api_key),
                )
            }
        }
    };
}
pub(crate) use compat_provider;

impl CompletionModel {
    /// A model of any provider by name, with its key read from the provider's conventional
    /// variable: the OpenAI-compatible family (`"openai"`, `"openrouter"`, `"groq"`,
    /// `"together"`, `"mistral"`, `"deepseek"`, `"fireworks"`, `"perplexity"`, `"xai"`,
    /// `"azure"`: `OPENAI_API_KEY`, `GROQ_API_KEY`, ...; Azure also reads
    /// `AZURE_OPENAI_RESOURCE` and `AZURE_OPENAI_DEPLOYMENT`) and the native providers
    /// (`"anthropic"`, `"gemini"`, `"cohere"`, `"bedrock"`, `"fal"`, as their `*_from_env`
    /// constructors).
    ///
    /// ```
    /// use blazen_providers::CompletionModel;
    /// let err = CompletionModel::from_env("no-such-provider").unwrap_err();
    /// assert!(err.to_string().contains("no-such-provider"));
    /// ```
    pub fn from_env(provider: &str) -> Result<Self> {
        match provider {
            "anthropic" => return CompletionModel::anthropic_from_env(),
            "gemini" => return CompletionModel::gemini_from_env(),
            "cohere" => return CompletionModel::cohere_from_env(),
            "bedrock" => return CompletionModel::bedrock_from_env(),
            "fal" => return CompletionModel::fal_from_env(),
            _ => {}
        }
        if provider == "azure" {
            return Ok(CompletionModel::azure(
                env_var(azure::PROFILE.env_var)?,
                env_var("AZURE_OPENAI_RESOURCE")?,
                env_var("AZURE_OPENAI_DEPLOYMENT")?,
            ));
        }
        let profile = profile(provider).ok_or_else(|| {
            BlazenError::unsupported(format!("from_env does not know the provider {provider:?}"))
        })?;
        let key = env_var(profile.env_var)?;
        Ok(CompletionModel::from_provider(OpenAiCompat::new(
            profile, key,
        )))
    }
}
